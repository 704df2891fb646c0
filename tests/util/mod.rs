//! Test helpers: a throw-away copy of the shipped project and a way to run `suiji` in it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub mod drawn;
pub mod scheduler;
pub mod webdriver;
pub mod zip;

/// `suiji draw zhian.hotel --period 2023-H1 --seed demo`: the shipped hotels' first half of
/// 2023 with a typed seed (accepted on a simulation database only), so its targets are known.
pub const SEEDED_HOTEL: &[&str] = &[
    "draw",
    "zhian.hotel",
    "--period",
    "2023-H1",
    "--seed",
    "demo",
];
/// The manifest of the hotels' 2023-H1 draw.
pub const HOTEL_MANIFEST: &str = "out/draws/zhian.hotel/2023-H1/manifest.json";

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
        let p = Project { dir };
        // Tests edit rule files and expect the next command to use them; the approval of rule
        // changes has its own tests, which turn it on (`two_person`).
        p.edit(CONFIG, "approval = \"two-person\"", "approval = \"none\"");
        p
    }

    /// The shipped project as shipped: rule changes need a second person's approval.
    pub fn shipped_two_person() -> Project {
        let p = Project::shipped();
        p.edit(CONFIG, "approval = \"none\"", "approval = \"two-person\"");
        p
    }

    /// A copy of `examples/<name>/`'s `config/` and `rules/`, run as its own project.
    pub fn example(name: &str) -> Project {
        let dir = tempfile::tempdir().expect("tempdir");
        let from = repo().join("examples").join(name);
        copy_dir(&from.join("config"), &dir.path().join("config"));
        copy_dir(&from.join("rules"), &dir.path().join("rules"));
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

    /// Replaces the first occurrence of `from` in a file with `to`, of the same length, and
    /// puts its modification time back: other bytes with the file's length and time kept (only
    /// its change time tells). Panics if `from` is absent.
    pub fn edit_keeping_time(&self, rel: &str, from: &str, to: &str) {
        assert_eq!(from.len(), to.len(), "the file's length is kept");
        let path = self.path(rel);
        let time = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .expect("time");
        self.edit(rel, from, to);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(time))
            .expect("time kept");
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
        // English diagnostics unless a test asks for Chinese (`LANG=zh_CN.UTF-8`).
        cmd.current_dir(self.root())
            .env_remove("RUST_LOG")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env("LANG", "C")
            .env("SUIJI_CONFIG", self.path(CONFIG))
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

/// How long a test waits for a process before it fails: a bound for failure, never a way of
/// letting time pass.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(120);

/// A `suiji` process running in the background. Its standard error is read line by line as
/// it comes (tests wait for a line, not for time); standard output goes to a file.
/// Dropping it kills the process if it is still running.
pub struct Running {
    pub child: std::process::Child,
    pub stdout: PathBuf,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    arrived: std::sync::mpsc::Receiver<()>,
    seen: usize,
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

    /// Standard error so far.
    pub fn stderr(&self) -> String {
        let lines = self.lines.lock().expect("stderr lines");
        lines.iter().map(|l| format!("{l}\n")).collect()
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// Waits for the next line of standard error containing `text` (after the ones already
    /// waited for) and returns it; fails if the process ends first.
    pub fn expect_line(&mut self, text: &str) -> String {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            {
                let lines = self.lines.lock().expect("stderr lines");
                if let Some(i) = lines[self.seen..].iter().position(|l| l.contains(text)) {
                    self.seen += i + 1;
                    return lines[self.seen - 1].clone();
                }
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.arrived.recv_timeout(left) {
                Ok(()) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    // Standard error closed: the process has ended; look once more.
                    let lines = self.lines.lock().expect("stderr lines");
                    if let Some(i) = lines[self.seen..].iter().position(|l| l.contains(text)) {
                        self.seen += i + 1;
                        return lines[self.seen - 1].clone();
                    }
                    panic!(
                        "suiji (pid {}) ended without printing {text:?}:\n{}",
                        self.pid(),
                        lines.join("\n")
                    );
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!(
                    "suiji (pid {}) did not print {text:?} in {PATIENCE:?}:\n{}",
                    self.pid(),
                    self.stderr()
                ),
            }
        }
    }

    /// Waits for the process to exit (failing after [`PATIENCE`]).
    pub fn wait(&mut self) -> std::process::ExitStatus {
        // Standard error closes when the process ends.
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.arrived.recv_timeout(left) {
                Ok(()) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!(
                    "suiji (pid {}) did not exit in {PATIENCE:?}:\n{}",
                    self.pid(),
                    self.stderr()
                ),
            }
        }
        self.child.wait().expect("wait for suiji")
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
    /// Starts `suiji ARGS` in the background; its standard output goes to `<name>.stdout` in
    /// the project folder.
    pub fn spawn(&self, name: &str, args: &[&str]) -> Running {
        self.spawn_env(name, args, &[])
    }

    pub fn spawn_env(&self, name: &str, args: &[&str], env: &[(&str, &str)]) -> Running {
        self.spawn_watched(name, args, env, None)
    }

    /// As [`Project::spawn_env`], and each line of standard error, and its end (the process
    /// ended), is also told to `watch`: one channel that wakes a test watching several
    /// processes at once.
    pub fn spawn_watched(
        &self,
        name: &str,
        args: &[&str],
        env: &[(&str, &str)],
        watch: Option<std::sync::mpsc::Sender<()>>,
    ) -> Running {
        use std::io::BufRead as _;
        let stdout = self.path(&format!("{name}.stdout"));
        let mut cmd = std::process::Command::new(bin());
        cmd.current_dir(self.root())
            .env_remove("RUST_LOG")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env("LANG", "C")
            .env("SUIJI_CONFIG", self.path(CONFIG))
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&stdout).expect("stdout file"))
            .stderr(std::process::Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start suiji");
        let stderr = child.stderr.take().expect("piped stderr");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, arrived) = std::sync::mpsc::channel();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                sink.lock().expect("stderr lines").push(line);
                if let Some(watch) = &watch {
                    let _ = watch.send(());
                }
                if tx.send(()).is_err() {
                    break;
                }
            }
            if let Some(watch) = &watch {
                let _ = watch.send(());
            }
        });
        Running {
            child,
            stdout,
            lines,
            arrived,
            seen: 0,
        }
    }

    /// Marks the project's empty database a simulation database, as `suiji simulate` does
    /// first: its documents say 模拟, and a typed `--seed` is accepted (a database of real
    /// records refuses it). For tests that need a draw's exact targets.
    pub fn simulation(self) -> Project {
        let mut store = suiji::store::Store::open(&self.path("data")).expect("open database");
        store
            .mark_simulation("2023-01-01T00:00:00+08:00", "simulate", 2023)
            .expect("an empty database becomes a simulation");
        self
    }

    /// The shipped project as it is (two-person approval: the example result sheet was made
    /// from its draws) with 2023 simulated (seed `demo`) and the sheet of the hotels' first
    /// half-year imported.
    pub fn year_with_results() -> Project {
        let p = Project::shipped_two_person();
        p.ok(&["simulate", "--year", "2023", "--seed", "demo"]);
        std::fs::copy(
            repo().join("config/examples/results-2023-zhian-hotel-H1.csv"),
            p.path("example.csv"),
        )
        .expect("copy example");
        p.ok(&["results", "import", "example.csv"]);
        p
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

    /// `suiji change replace-target DRAW TARGET`: the drawn target closed (已注销), replaced
    /// by its stratum's next substitute; stdout.
    pub fn replace_closed(&self, draw: &str, target: &str) -> String {
        self.ok(&[
            "change",
            "replace-target",
            draw,
            target,
            "--cause",
            "closed",
            "--reason",
            "已注销",
        ])
    }

    /// `suiji result DRAW TARGET` for every checklist item, 未发现问题 on 2023-03-01, signed by
    /// `signers` (comma separated): its arguments.
    pub fn result_args(draw: &str, target: &str, signers: &str) -> Vec<String> {
        let args = [
            "result",
            draw,
            target,
            "--item",
            "all",
            "--category",
            "未发现问题",
            "--date",
            "2023-03-01",
            "--inspectors",
            signers,
        ];
        args.map(str::to_string).to_vec()
    }

    /// `suiji change replace-inspector DRAW TARGET MEMBER`: the team member ill (病假),
    /// replaced by the next eligible inspector; stdout.
    pub fn replace_ill(&self, draw: &str, target: &str, member: &str) -> String {
        self.ok(&[
            "change",
            "replace-inspector",
            draw,
            target,
            member,
            "--cause",
            "ill",
            "--reason",
            "病假",
        ])
    }

    /// The config as a TOML table.
    pub fn config(&self) -> toml::Table {
        self.read(CONFIG)
            .parse()
            .unwrap_or_else(|e| panic!("{CONFIG}: {e}"))
    }

    /// Sets one key of the config (`path` names the tables down to the key), keeping the rest.
    pub fn set_config(&self, path: &[&str], value: impl Into<toml::Value>) {
        let mut table = self.config();
        let (key, tables) = path.split_last().expect("a key");
        let mut at = &mut table;
        for t in tables {
            at = at
                .entry(t.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .unwrap_or_else(|| panic!("{CONFIG}: `{t}` is not a table"));
        }
        at.insert(key.to_string(), value.into());
        self.write(CONFIG, &toml::to_string(&table).expect("config as TOML"));
    }

    /// Points the config's target and inspector registries at other files.
    pub fn use_registries(&self, targets: &str, inspectors: &str) {
        self.set_config(&["registries", "targets"], vec![targets.to_string()]);
        self.set_config(&["registries", "inspectors"], vec![inspectors.to_string()]);
    }

    /// Replaces every shipped rule file with the given ones (name, text).
    pub fn only_rules(&self, files: &[(&str, &str)]) {
        for f in std::fs::read_dir(self.path("rules")).expect("rules") {
            std::fs::remove_file(f.expect("entry").path()).expect("remove rule file");
        }
        for (name, text) in files {
            self.write(&format!("rules/{name}"), text);
        }
    }

    /// Keeps only the inspectors of `department` (and the header) in a registry file.
    pub fn keep_inspectors_of(&self, rel: &str, department: &str) {
        let text = self.read(rel);
        let kept: Vec<&str> = text
            .lines()
            .enumerate()
            .filter(|(i, l)| *i == 0 || l.split(',').nth(2) == Some(department))
            .map(|(_, l)| l)
            .collect();
        assert!(kept.len() > 2, "{rel} has no inspectors of {department}");
        self.write(rel, &format!("{}\n", kept.join("\n")));
    }
}

/// The engine config, relative to the project folder.
pub const CONFIG: &str = "config/suiji.toml";

/// A test through the binary, built step by step: a throw-away copy of the shipped project,
/// typed edits of its config and rules, one command, and what it must print and return.
///
/// ```ignore
/// Test::new()
///     .provisional_calendar(true)
///     .args(&["plan", "--year", "2031"])
///     .stderr_has("PROVISIONAL")
///     .run();
/// ```
#[must_use]
pub struct Test {
    project: Project,
    args: Vec<String>,
    env: Vec<(String, String)>,
    status: i32,
    stdout: Option<Expect>,
    stderr: Option<Expect>,
}

enum Expect {
    Exactly(String),
    Contains(Vec<String>),
}

impl Expect {
    fn check(&self, what: &str, actual: &str, context: &str) {
        match self {
            Expect::Exactly(want) => assert_eq!(actual, want, "{what} differs\n{context}"),
            Expect::Contains(parts) => {
                for part in parts {
                    assert!(
                        actual.contains(part.as_str()),
                        "{what} lacks {part:?}\n{context}"
                    );
                }
            }
        }
    }

    fn and(this: Option<Expect>, part: &str) -> Option<Expect> {
        Some(match this {
            Some(Expect::Contains(mut parts)) => {
                parts.push(part.into());
                Expect::Contains(parts)
            }
            Some(Expect::Exactly(_)) => panic!("an exact expectation cannot also be partial"),
            None => Expect::Contains(vec![part.into()]),
        })
    }
}

/// What a [`Test`] left: the project (for more commands and checks) and the output.
pub struct Ran {
    pub project: Project,
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Default for Test {
    fn default() -> Self {
        Test::new()
    }
}

impl Test {
    /// A copy of the shipped project; the command must exit with 0 unless told otherwise.
    pub fn new() -> Test {
        Test::at(Project::shipped())
    }

    /// Continues in an existing project.
    pub fn at(project: Project) -> Test {
        Test {
            project,
            args: Vec::new(),
            env: Vec::new(),
            status: 0,
            stdout: None,
            stderr: None,
        }
    }

    /// The project being built, for edits without a setter.
    pub fn project(&self) -> &Project {
        &self.project
    }

    /// `[calendar] provisional`: years without an official calendar are computed.
    pub fn provisional_calendar(self, on: bool) -> Test {
        self.project.set_config(&["calendar", "provisional"], on);
        self
    }

    /// `[registries]`: the target and inspector registry files.
    pub fn registries(self, targets: &str, inspectors: &str) -> Test {
        self.project.use_registries(targets, inspectors);
        self
    }

    /// `[limits] max_operations` of the script sandbox.
    pub fn max_operations(self, n: i64) -> Test {
        self.project.set_config(&["limits", "max_operations"], n);
        self
    }

    /// `[limits] timeout_ms` of the script sandbox.
    pub fn timeout_ms(self, ms: i64) -> Test {
        self.project.set_config(&["limits", "timeout_ms"], ms);
        self
    }

    /// Replaces every shipped rule file with the given ones (name, text).
    pub fn only_rules(self, files: &[(&str, &str)]) -> Test {
        self.project.only_rules(files);
        self
    }

    /// Keeps only the demo inspectors of `department`.
    pub fn inspectors_of(self, department: &str) -> Test {
        self.project
            .keep_inspectors_of("config/registry/inspectors.csv", department);
        self
    }

    /// Writes a file of the project.
    pub fn file(self, rel: &str, text: &str) -> Test {
        self.project.write(rel, text);
        self
    }

    /// The command's arguments (after `suiji`).
    pub fn args(mut self, args: &[&str]) -> Test {
        self.args = args.iter().map(|a| a.to_string()).collect();
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Test {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The exit status expected (0 unless told).
    pub fn status(mut self, code: i32) -> Test {
        self.status = code;
        self
    }

    /// Standard output must be exactly this.
    pub fn stdout(mut self, text: &str) -> Test {
        self.stdout = Some(Expect::Exactly(text.into()));
        self
    }

    /// Standard output must contain this (may be given several times).
    pub fn stdout_has(mut self, part: &str) -> Test {
        self.stdout = Expect::and(self.stdout, part);
        self
    }

    /// Standard error must be exactly this.
    pub fn stderr(mut self, text: &str) -> Test {
        self.stderr = Some(Expect::Exactly(text.into()));
        self
    }

    /// Standard error must contain this (may be given several times).
    pub fn stderr_has(mut self, part: &str) -> Test {
        self.stderr = Expect::and(self.stderr, part);
        self
    }

    /// The project, without running anything.
    pub fn build(self) -> Project {
        self.project
    }

    /// Runs the command and checks its status and output.
    pub fn run(self) -> Ran {
        assert!(!self.args.is_empty(), "Test::run without args");
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let mut cmd = self.project.suiji(&args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let (status, stdout, stderr) = run(cmd);
        let context = format!(
            "suiji {args:?} exited with {status}\n--- stdout\n{stdout}--- stderr\n{stderr}"
        );
        assert_eq!(status, self.status, "unexpected exit status\n{context}");
        if let Some(e) = &self.stdout {
            e.check("stdout", &stdout, &context);
        }
        if let Some(e) = &self.stderr {
            e.check("stderr", &stderr, &context);
        }
        Ran {
            project: self.project,
            status,
            stdout,
            stderr,
        }
    }
}

/// `draws.manifest_json` as the manifest's text, for a query `FROM draws`: a manifest kept in
/// pieces (schema version 12, the column then holding its length) joined in order.
#[allow(dead_code)]
pub const MANIFEST_TEXT: &str = "CASE WHEN draws.manifest_json NOT GLOB '*[^0-9]*' THEN
        (SELECT group_concat(p.text, '' ORDER BY p.piece) FROM draw_manifest_pieces p
         WHERE p.draw_id = draws.id)
    ELSE draws.manifest_json END";

/// The manifest at `path` as JSON, its excluded targets listed in `exclusions` as earlier
/// formats list them: a `suiji-manifest/3` or `/4` keeps only their summary, its `exclusions.csv`
/// beside it (read here, after checking it hashes to what the manifest records) lists them.
pub fn manifest_with_exclusions(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("manifest");
    let mut m: serde_json::Value = serde_json::from_str(&text).expect("manifest is JSON");
    if m["exclusion_summary"].is_object() {
        let folder = path.parent().expect("folder");
        m["exclusions"] = serde_json::Value::Array(detail_rows(folder, &m));
    }
    m
}

/// The rows of a `suiji-manifest/3`'s or `/4`'s detail file in `folder`, as manifest exclusions.
pub fn detail_rows(folder: &Path, m: &serde_json::Value) -> Vec<serde_json::Value> {
    let summary = &m["exclusion_summary"];
    let file = summary["file"].as_str().expect("file");
    let bytes = std::fs::read(folder.join(file)).expect("the detail file");
    assert_eq!(
        suiji::digest::sha256_hex(&bytes),
        summary["sha256"].as_str().expect("sha256"),
        "{file} does not hash to the manifest's"
    );
    let text = String::from_utf8(bytes).expect("UTF-8");
    let text = text.strip_prefix('\u{feff}').expect("a byte-order mark");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().expect("header").clone();
    assert_eq!(
        header.iter().collect::<Vec<_>>(),
        ["target_id", "reason", "detail"]
    );
    let rows: Vec<serde_json::Value> = reader
        .records()
        .map(|r| {
            let r = r.expect("row");
            let cell = |i: usize| suiji::results::safe_cell::original(&r[i]).to_string();
            serde_json::json!({"target_id": cell(0), "reason": cell(1), "detail": cell(2)})
        })
        .collect();
    assert_eq!(rows.len() as u64, summary["rows"].as_u64().expect("rows"));
    rows
}

/// Change #1 on `store`, submitted for approval by the editor on 2026-01-05: the hotel
/// matter's ratio raised from 5% to 10%. Version 1 of the rules must be adopted already.
pub fn submit_hotel_ratio_change(
    store: &mut dyn suiji::store::RuleStore,
    cfg: &suiji::rules::model::Config,
) {
    use suiji::jobs::rule_changes::{self, Draft, Who};
    let who = Who {
        actor: "web:editor".into(),
        at: "2026-01-05T09:00:00+08:00".into(),
    };
    let v1 = rule_changes::latest(store)
        .expect("latest")
        .expect("version 1 adopted");
    let text = v1.files["rules/zhian.toml"].replacen("ratio = \"5%\"", "ratio = \"10%\"", 1);
    let draft = Draft {
        id: None,
        department: "zhian".into(),
        files: [("rules/zhian.toml".to_string(), text)].into(),
        removed: vec![],
        base_hash: v1.rules_hash,
    };
    let id = rule_changes::save_draft(store, &draft, &who).expect("draft");
    let facts = suiji::jobs::check::Keeper::new(|| {
        chrono::DateTime::from_timestamp(946_684_800, 0).expect("2000-01-01")
    });
    rule_changes::submit(store, cfg, id, &who, &facts).expect("submitted");
}

/// A fresh schema named after the test in the run's database: its URL, or `None` (skipped, with
/// the reason printed) when no server is named or none answers, outside CI.
pub fn fresh_schema(name: &str) -> Option<String> {
    let under_ci = std::env::var_os("CI").is_some();
    let Some(base) = std::env::var("SUIJI_TEST_DATABASE")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        assert!(
            !under_ci,
            "SUIJI_TEST_DATABASE is not set: under CI the PostgreSQL tests must run (.ci/run sets it)"
        );
        eprintln!("skipped: SUIJI_TEST_DATABASE names no PostgreSQL database (see .ci/run)");
        return None;
    };
    let mut admin = match postgres::Client::connect(&base, postgres::NoTls) {
        Ok(c) => c,
        Err(e) => {
            assert!(
                !under_ci,
                "no PostgreSQL server at SUIJI_TEST_DATABASE: {e}"
            );
            eprintln!("skipped: no PostgreSQL server at SUIJI_TEST_DATABASE: {e}");
            return None;
        }
    };
    let schema = format!("t_{name}");
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};"
        ))
        .expect("create the test's schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}options=-c%20search_path%3D{schema}"))
}

/// The frame entries of a public bundle as objects `{id, stratum, weight, fields}`, whichever
/// way the bundle writes them: objects (`suiji-public-bundle/1` to `/3`) or the arrays of
/// version 4, `[id, the stratum's place in strata, weight, field…]`.
pub fn frame_entries(bundle: &serde_json::Value) -> Vec<serde_json::Value> {
    let frame = bundle["frame"].as_array().expect("frame");
    frame
        .iter()
        .map(|f| match f.as_array() {
            Some(a) => {
                let at = a[1].as_u64().expect("the stratum's place") as usize;
                serde_json::json!({
                    "id": a[0],
                    "stratum": bundle["strata"][at]["stratum"],
                    "weight": a[2],
                    "fields": a[3..],
                })
            }
            None => f.clone(),
        })
        .collect()
}
