// 规则文件（高级）: check the files as they are typed. The form is posted to the check
// endpoint a moment after the last keystroke and the answer (server-rendered HTML) replaces
// the check result; without this script the 检查 button does the same.
(function () {
  "use strict";
  var form = document.getElementById("files-form");
  var live = document.getElementById("live");
  if (!form || !live || !window.fetch) { return; }
  var timer = null;
  var sent = 0;
  function check() {
    var mine = ++sent;
    var body = new URLSearchParams(new FormData(form));
    body.delete("action");
    fetch(form.getAttribute("data-check"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (r) { return r.text(); }).then(function (html) {
      if (mine === sent) { live.innerHTML = html; }
    });
  }
  form.addEventListener("input", function () {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(check, 300);
  });
})();
