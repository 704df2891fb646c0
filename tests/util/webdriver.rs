//! A small WebDriver client (the commands the browser tests need, as JSON over HTTP on the
//! loopback) for Debian's chromium and chromium-driver.

use std::io::{BufRead as _, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// One HTTP/1.1 request on the loopback; the answer's JSON.
pub fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Value {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to chromedriver");
    s.set_read_timeout(Some(super::PATIENCE)).expect("timeout");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("send");
    // Headers, then exactly Content-Length bytes (the driver may keep the connection open).
    let mut reader = std::io::BufReader::new(s);
    let mut length = 0usize;
    let mut status = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("read answer");
        if status.is_empty() {
            status = line.trim().to_string();
        }
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).expect("read body");
    let json = String::from_utf8_lossy(&body).into_owned();
    let text = format!("{status}\n{json}");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("WebDriver answered {text}: {e}"))
}

/// A WebDriver session.
pub struct Browser {
    pub port: u16,
    pub session: String,
    pub base: String,
    pub shots: PathBuf,
}

impl Browser {
    pub fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let v = http(
            self.port,
            method,
            &format!("/session/{}{path}", self.session),
            body.as_ref(),
        );
        if let Some(err) = v["value"].get("error") {
            panic!("WebDriver {method} {path}: {err} {}", v["value"]["message"]);
        }
        v["value"].clone()
    }

    pub fn go(&self, path: &str) {
        self.cmd(
            "POST",
            "/url",
            Some(json!({ "url": format!("{}{path}", self.base) })),
        );
    }

    /// The element for a CSS selector (waiting up to the implicit timeout for it to appear).
    pub fn find(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        );
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }

    /// Waits (up to the implicit timeout) for an element matching the XPath `xpath`: how a test
    /// waits for the page a form submission loads, rather than reading the old page.
    pub fn wait_for(&self, xpath: &str) {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({ "using": "xpath", "value": xpath })),
        );
        assert!(
            v.as_object().is_some_and(|o| !o.is_empty()),
            "no element {xpath}"
        );
    }

    pub fn count(&self, css: &str) -> usize {
        let v = self.cmd(
            "POST",
            "/elements",
            Some(json!({ "using": "css selector", "value": css })),
        );
        v.as_array().map_or(0, Vec::len)
    }

    pub fn click(&self, css: &str) {
        let e = self.find(css);
        self.cmd("POST", &format!("/element/{e}/click"), Some(json!({})));
    }

    pub fn type_in(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.cmd("POST", &format!("/element/{e}/clear"), Some(json!({})));
        self.cmd(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        );
    }

    /// The text of the element; found again when a page that was still loading replaced it.
    pub fn text(&self, css: &str) -> String {
        for _ in 0..100 {
            let e = self.find(css);
            let v = http(
                self.port,
                "GET",
                &format!("/session/{}/element/{e}/text", self.session),
                None,
            );
            match v["value"].get("error").and_then(Value::as_str) {
                None => return v["value"].as_str().unwrap_or("").to_string(),
                // A page that is still loading: its elements are stale or not yet attached.
                Some("stale element reference" | "unknown error") => continue,
                Some(err) => panic!("WebDriver text of {css}: {err}"),
            }
        }
        panic!("{css} kept being replaced")
    }

    pub fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub fn screenshot(&self, name: &str) {
        let b64 = self.cmd("GET", "/screenshot", None);
        let png = base64_decode(b64.as_str().unwrap_or(""));
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        std::fs::write(self.shots.join(format!("{name}.png")), png).expect("save screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(
            self.port,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
    }
}

pub fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for v in s.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// chromedriver on a free port, waited for by the line it prints when ready.
pub struct Driver {
    child: std::process::Child,
    pub port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_driver(driver: &Path) -> Driver {
    let port = free_port();
    let mut child = std::process::Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let out = child.stdout.take().expect("piped stdout");
    let mut lines = std::io::BufReader::new(out).lines();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.contains("started successfully") => break,
            Some(Ok(_)) => {}
            _ => panic!("chromedriver ended before it was ready"),
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Driver { child, port }
}

impl Browser {
    /// Runs `script` (an async function body whose last argument is the callback) and returns
    /// what it passed to the callback.
    pub fn run_async(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/async",
            Some(json!({ "script": script, "args": args })),
        )
    }

    pub fn run(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
    }
}

/// A headless chromium session on `driver`, its pages under `base`.
pub fn session(driver: &Driver, chromium: &Path, base: String, window: &str) -> Browser {
    let caps = json!({ "capabilities": { "alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium.to_string_lossy(),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     format!("--window-size={window}"), "--lang=zh-CN"]
        }
    }}});
    let started = http(driver.port, "POST", "/session", Some(&caps));
    let session = started["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no session: {started}"))
        .to_string();
    let shots = super::repo().join("target/screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot folder");
    let b = Browser {
        port: driver.port,
        session,
        base,
        shots,
    };
    b.cmd(
        "POST",
        "/timeouts",
        Some(json!({ "implicit": 10_000, "script": 120_000 })),
    );
    b
}
