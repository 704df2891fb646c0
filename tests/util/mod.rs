//! Test helpers: a throw-away copy of the shipped project and a way to run `suiji` in it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let path = entry.path();
        let dest = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).expect("copy file");
        }
    }
}

/// A copy of the shipped `config/` and `rules/` in a temporary folder.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn shipped() -> Project {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_dir(&repo().join("config"), &dir.path().join("config"));
        copy_dir(&repo().join("rules"), &dir.path().join("rules"));
        Project { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(p, text).expect("write");
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    /// Replaces the first occurrence of `from` in a file; panics if it is absent.
    pub fn edit(&self, rel: &str, from: &str, to: &str) {
        let text = self.read(rel);
        assert!(text.contains(from), "{rel} does not contain {from:?}");
        self.write(rel, &text.replacen(from, to, 1));
    }

    /// `suiji ARGS` run in the project folder with its config.
    pub fn suiji(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("suiji").expect("binary");
        cmd.current_dir(self.root())
            .env_remove("RUST_LOG")
            .env("SUIJI_CONFIG", self.path("config/suiji.toml"))
            .args(args);
        cmd
    }
}

/// Runs a command; returns (exit code, stdout, stderr).
pub fn run(mut cmd: Command) -> (i32, String, String) {
    let out = cmd.output().expect("run suiji");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Compares `actual` with the file `expected` (relative to the repo); `SUIJI_BLESS=1` rewrites it.
pub fn expect_file(expected: &Path, actual: &str) {
    if std::env::var_os("SUIJI_BLESS").is_some() {
        std::fs::write(expected, actual).expect("bless");
        return;
    }
    let want = std::fs::read_to_string(expected).unwrap_or_default();
    assert_eq!(
        actual,
        want,
        "output differs from {} (SUIJI_BLESS=1 to update)",
        expected.display()
    );
}

/// The `suiji` binary under test.
pub fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("suiji")
}

/// Polls `f` every 50 ms until it returns `Some`, or panics after `secs` seconds.
pub fn wait_for<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {secs}s waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A `suiji` process running in the background, its output going to files in the project.
/// Dropping it kills the process if it is still running.
pub struct Running {
    pub child: std::process::Child,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by name ("TERM", "HUP", "KILL") to this process only.
    pub fn signal(&self, sig: &str) {
        let ok = std::process::Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -{sig} {} failed", self.pid());
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// Whether the process has exited (reaps it).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    /// Waits for the process to exit, at most `secs` seconds.
    pub fn wait(&mut self, secs: u64) -> std::process::ExitStatus {
        let what = format!("suiji (pid {}) to exit", self.pid());
        wait_for(secs, &what, || self.child.try_wait().expect("try_wait"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Project {
    /// Starts `suiji ARGS` in the background; its output goes to `<name>.stdout` and
    /// `<name>.stderr` in the project folder.
    pub fn spawn(&self, name: &str, args: &[&str]) -> Running {
        self.spawn_env(name, args, &[])
    }

    pub fn spawn_env(&self, name: &str, args: &[&str], env: &[(&str, &str)]) -> Running {
        let stdout = self.path(&format!("{name}.stdout"));
        let stderr = self.path(&format!("{name}.stderr"));
        let mut cmd = std::process::Command::new(bin());
        cmd.current_dir(self.root())
            .env_remove("RUST_LOG")
            .env("SUIJI_CONFIG", self.path("config/suiji.toml"))
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&stdout).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr).expect("stderr file"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start suiji");
        Running {
            child,
            stdout,
            stderr,
        }
    }

    /// The project's database, opened directly (for checks and for tampering).
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.path("data/suiji.sqlite3")).expect("open database")
    }

    /// Runs `suiji ARGS` and returns stdout, panicking unless it exits with 0.
    pub fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = run(self.suiji(args));
        assert_eq!(code, 0, "suiji {args:?} failed:\n{out}\n{err}");
        out
    }

    /// Points the config's target and inspector registries at other files.
    pub fn use_registries(&self, targets: &str, inspectors: &str) {
        self.edit(
            "config/suiji.toml",
            "targets = [\"config/registry/targets.csv\"]",
            &format!("targets = [\"{targets}\"]"),
        );
        self.edit(
            "config/suiji.toml",
            "inspectors = [\"config/registry/inspectors.csv\"]",
            &format!("inspectors = [\"{inspectors}\"]"),
        );
    }
}
