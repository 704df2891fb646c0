// 规则编辑 (the matter form, the department form and the advanced tab's files): check what is
// typed. The form is posted to its check address (`data-check`, with live=check) a moment
// after the last keystroke and the answer (server-rendered HTML) replaces the check result;
// when the check passes, the effect (a dry run of each changed matter, before → after) is
// asked for (`data-effect`, with live=effect) and shown under it. Without this script the 检查
// and 预览 buttons do the same.
(function () {
  "use strict";
  var form = document.querySelector("form[data-check]");
  var live = document.getElementById("live");
  var effect = document.getElementById("live-effect");
  if (!form || !live || !window.fetch) { return; }
  var timer = null;
  var sent = 0;
  function post(url, body) {
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (r) { return r.text(); });
  }
  function check() {
    var mine = ++sent;
    var fields = new URLSearchParams(new FormData(form));
    fields.delete("action");
    fields.set("live", "check");
    var body = fields.toString();
    post(form.getAttribute("data-check"), body).then(function (html) {
      if (mine !== sent) { return; }
      live.innerHTML = html;
      if (!effect) { return; }
      if (html.indexOf('id="check-ok"') < 0) { effect.innerHTML = ""; return; }
      effect.innerHTML = '<p class="muted">正在按现有名录库试抽……</p>';
      fields.set("live", "effect");
      post(form.getAttribute("data-effect"), fields.toString()).then(function (more) {
        if (mine === sent) { effect.innerHTML = more; }
      });
    });
  }
  form.addEventListener("input", function () {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(check, 300);
  });
})();
