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
