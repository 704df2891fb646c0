//! What an operator meets around the service: logs that tools can read, a standard error that
//! cannot be written, a read-only copy of the data, draw folders regenerated from the
//! database.

mod util;

use std::collections::BTreeMap;
use std::path::Path;

use util::scheduler::{RUN_ONCE, assert_complete, crash_at, draws, matter, service_project};
use util::{Project, run};

/// A matter with one firing, on 1 June 2023: `--since 2023-01-01` finds exactly that draw due.
fn one_past_draw() -> Project {
    service_project(&matter("once", "0 0 9 1 6 * 2023", "5%", ""))
}

// ---------------------------------------------------------------------------------------------
// Logs

#[test]
fn human_logs_have_no_colour_in_a_pipe_and_no_debug_wrappers() {
    let p = one_past_draw();
    let mut cmd = p.suiji(RUN_ONCE);
    cmd.env("RUST_LOG", "suiji=info");
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!err.contains('\x1b'), "ANSI escapes in a pipe:\n{err:?}");
    assert!(!err.contains("Some("), "{err}");
    assert!(err.contains("draw=1"), "{err}");
}

/// Parses every line of `text` as a JSON object; returns them.
fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}\nin:\n{text}"));
            assert!(v.is_object(), "{line}");
            assert!(!line.contains("Some("), "{line}");
            v
        })
        .collect()
}

#[test]
fn every_line_of_the_json_log_is_json() {
    let p = one_past_draw();
    // A service run that logs at every level it has.
    let mut cmd = p.suiji(&["--log-json", "run", "--once", "--since", "2023-01-01"]);
    cmd.env("RUST_LOG", "suiji=debug");
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{out}{err}");
    let lines = json_lines(&err);
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["draw"] == 1 && l["level"] == "INFO"),
        "{err}"
    );
    // A command that fails: its report is one JSON line too.
    let (code, _, err) =
        run(p.suiji(&["--log-json", "draw", "zhian.nosuch", "--period", "2023-H1"]));
    assert_eq!(code, 1, "{err}");
    let lines = json_lines(&err);
    assert_eq!(lines.len(), 1, "{err}");
    assert_eq!(lines[0]["level"], "ERROR");
    let message = lines[0]["fields"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("zhian.nosuch"), "{message}");
}

// ---------------------------------------------------------------------------------------------
// A standard error that cannot be written

/// `suiji ARGS` with its standard error on `/dev/full` (every write fails: no space left).
fn stderr_full(p: &Project, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let mut cmd = std::process::Command::new(util::bin());
    cmd.current_dir(p.root())
        .env_remove("RUST_LOG")
        .env("SUIJI_CONFIG", p.path(util::CONFIG))
        .args(args)
        .envs(env.iter().copied())
        .stderr(full);
    let out = cmd.output().expect("run suiji");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_full_standard_error_never_makes_a_command_panic() {
    let p = one_past_draw();
    // A failing command: its report cannot be shown, its exit status still says why.
    let (code, _) = stderr_full(&p, &["draw", "zhian.nosuch", "--period", "2023-H1"], &[]);
    assert_eq!(
        code,
        Some(1),
        "refused, not a panic (101) or a signal (None)"
    );
    // The service logging every step, human and JSON.
    for json in [false, true] {
        let mut args = vec![];
        if json {
            args.push("--log-json");
        }
        args.extend(RUN_ONCE);
        let (code, out) = stderr_full(&p, &args, &[("RUST_LOG", "suiji=debug")]);
        assert_eq!(code, Some(0), "json {json}: {out}");
    }
    let (code, out) = stderr_full(&p, &["draws"], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("zhian.once"), "{out}");
}

// ---------------------------------------------------------------------------------------------
// Files left staged, and folders regenerated from the database

/// A quarterly matter (four draws in 2023), on the provisional calendar.
fn quarterly() -> Project {
    service_project(&matter("q", "0 0 9 1 1,4,7,10 *", "5%", ""))
}

const SIMULATE: &[&str] = &["simulate", "--year", "2023"];

/// Every file under `dir`, by its path relative to `dir`, with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(base, &path, out);
            } else if let Ok(rel) = path.strip_prefix(base) {
                let bytes = std::fs::read(&path).expect("read file");
                out.insert(rel.to_string_lossy().into_owned(), bytes);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn simulate_killed_after_a_commit_puts_the_staged_files_in_place_when_run_again() {
    for n in 1..=2 {
        let p = quarterly();
        crash_at(&p, SIMULATE, &format!("draw.committed@{n}"));
        assert_eq!(draws(&p).len(), n, "recorded up to the kill");
        let (code, out, err) = run(p.suiji(SIMULATE));
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(draws(&p).len(), 4);
        assert_complete(&p);
        let left: Vec<String> = tree(&p.path("out"))
            .into_keys()
            .filter(|k| k.contains(".staging-"))
            .collect();
        assert!(left.is_empty(), "staging left: {left:?}");
    }
}

#[test]
fn a_read_only_command_reports_files_left_staged() {
    let p = quarterly();
    crash_at(&p, SIMULATE, "draw.committed");
    let (code, out, err) = run(p.suiji(&["draws"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("files left staged by an interrupted run"),
        "{err}"
    );
    // The next command that writes puts them in place.
    let (code, out, err) = run(p.suiji(&["regenerate"]));
    assert_eq!(code, 0, "{out}{err}");
    assert_complete(&p);
}

/// The staging folders in `dir` (`.NAME.staging-PID-N`).
fn staging_folders(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .expect("folder")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".staging-"))
        .map(|e| e.path())
        .collect()
}

#[test]
fn a_regenerate_stopped_half_way_leaves_no_folder_to_put_in_place() {
    let p = quarterly();
    let (code, out, err) = run(p.suiji(SIMULATE));
    assert_eq!(code, 0, "{out}{err}");
    let before = tree(&p.path("out/draws"));
    let folder = p.path("out/draws/zhian.q/2023-04-01T0900");
    std::fs::remove_dir_all(&folder).expect("delete a draw folder");
    // Killed with the documents staged: the staging folder holds no manifest yet.
    let mut stopped = p.suiji(&["regenerate", "--draw", "2"]);
    stopped.env(suiji::jobs::probe::ABORT_ENV, "regenerate.documents");
    let (code, out, err) = run(stopped);
    assert_ne!(code, 0, "{out}{err}");
    let staged = staging_folders(&p.path("out/draws/zhian.q"));
    assert_eq!(staged.len(), 1, "{staged:?}");
    assert!(!staged[0].join("manifest.json").exists());
    // The next command that writes does not take it for the draw's files.
    let (code, out, err) = run(p.suiji(&["regenerate", "--draw", "1"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(!folder.exists(), "a half-written folder was put in place");
    assert!(staging_folders(&p.path("out/draws/zhian.q")).is_empty());
    let (code, out, err) = run(p.suiji(&["regenerate", "--draw", "2"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        tree(&p.path("out/draws")) == before,
        "regenerated folder differs"
    );
}

#[test]
fn a_deleted_draw_folder_is_regenerated_byte_for_byte() {
    let p = quarterly();
    let (code, out, err) = run(p.suiji(SIMULATE));
    assert_eq!(code, 0, "{out}{err}");
    let draws_dir = p.path("out/draws");
    let before = tree(&draws_dir);
    assert!(
        before.keys().any(|k| k.ends_with("tasks.xlsx")),
        "{before:?}"
    );
    let folder = p.path("out/draws/zhian.q/2023-04-01T0900");
    std::fs::remove_dir_all(&folder).expect("delete a draw folder");
    let (code, out, err) = run(p.suiji(&["regenerate", "--draw", "2"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("#2     zhian.q 2023-04-01T0900: written"),
        "{out}"
    );
    assert!(tree(&draws_dir) == before, "regenerated folder differs");
    // Everything again: nothing to do. A file changed by hand is put right, the changed
    // one kept aside.
    let (code, out, _) = run(p.suiji(&["regenerate"]));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.ends_with("4 draw folder(s): 0 written, 4 unchanged, 0 failed\n"),
        "{out}"
    );
    // A workbook packed again (another compression level, as another build may write it)
    // holds the same parts: left as it is. One with a part changed is not the record's.
    let book = folder.join("tasks.xlsx");
    let repacked = repack(&std::fs::read(&book).expect("read"), 9, |_| {});
    std::fs::write(&book, &repacked).expect("repack");
    let (code, out, _) = run(p.suiji(&["regenerate"]));
    assert_eq!(code, 0, "{out}");
    assert!(out.ends_with("0 written, 4 unchanged, 0 failed\n"), "{out}");
    assert_eq!(std::fs::read(&book).expect("read"), repacked);
    let edited = repack(&repacked, 6, |part| part.extend_from_slice(b" "));
    std::fs::write(&book, edited).expect("edit");
    let (code, out, _) = run(p.suiji(&["regenerate", "--draw", "2"]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("differed from the record"), "{out}");
    assert!(
        tree(&draws_dir) != before,
        "the edited workbook is kept aside"
    );
    for entry in std::fs::read_dir(p.path("out/draws/zhian.q"))
        .expect("list")
        .flatten()
    {
        if entry.file_name().to_string_lossy().contains(".altered-") {
            std::fs::remove_dir_all(entry.path()).expect("remove");
        }
    }
    assert!(
        tree(&draws_dir) == before,
        "the record's workbook written back"
    );
    std::fs::write(folder.join("public.csv"), "altered").expect("alter");
    let (code, out, _) = run(p.suiji(&["regenerate"]));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("differed from the record and are kept in"),
        "{out}"
    );
    let after = tree(&draws_dir);
    for (k, v) in &before {
        assert!(after.get(k) == Some(v), "{k} differs after regenerate");
    }
    let aside = after
        .keys()
        .find(|k| k.contains(".altered-") && k.ends_with("public.csv"))
        .expect("the altered folder is kept");
    assert_eq!(after[aside], b"altered");
    // An unknown draw is refused.
    let (code, _, err) = run(p.suiji(&["regenerate", "--draw", "99"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no draw #99 is recorded"), "{err}");
}

/// A draw made after its scheduled time (补抽) says when it was due, to the minute, in its
/// documents; its folder regenerated says the same, and from every draw's record at once.
#[test]
fn a_late_draws_folder_is_regenerated_byte_for_byte() {
    let p = Project::shipped_two_person();
    p.ok(&["draw", "zhian.hotel", "--period", "2023-H1"]);
    let draws_dir = p.path("out/draws");
    let before = tree(&draws_dir);
    let public = &before["zhian.hotel/2023-H1/public.csv"];
    let late = String::from_utf8_lossy(public);
    assert!(late.contains("补抽") && late.contains(" 09:00"), "{late}");
    std::fs::remove_dir_all(p.path("out/draws/zhian.hotel/2023-H1")).expect("delete the folder");
    let (code, out, err) = run(p.suiji(&["regenerate", "--draw", "1"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(tree(&draws_dir) == before, "regenerated folder differs");
    std::fs::remove_dir_all(p.path("out/draws/zhian.hotel/2023-H1")).expect("delete the folder");
    let (code, out, err) = run(p.suiji(&["regenerate"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(tree(&draws_dir) == before, "regenerated folder differs");
}

/// `book`'s parts packed again at deflate `level`, each of the worksheets given to `edit`.
fn repack(book: &[u8], level: i64, edit: fn(&mut Vec<u8>)) -> Vec<u8> {
    use std::io::{Cursor, Read, Write};
    let mut from = zip::ZipArchive::new(Cursor::new(book)).expect("a workbook");
    let mut to = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(level));
    for i in 0..from.len() {
        let mut part = from.by_index(i).expect("part");
        let name = part.name().expect("name").into_owned();
        let mut bytes = Vec::new();
        part.read_to_end(&mut bytes).expect("read");
        if name.starts_with("xl/worksheets/") {
            edit(&mut bytes);
        }
        to.start_file(name, options).expect("start");
        to.write_all(&bytes).expect("write");
    }
    to.finish().expect("finish").into_inner()
}

/// The shipped rules' 2023 simulated, the example results imported and published twice.
fn published_year() -> Project {
    let p = Project::shipped_two_person();
    p.ok(&["simulate", "--year", "2023", "--seed", "demo"]);
    p.ok(&[
        "results",
        "import",
        "config/examples/results-2023-zhian-hotel-H1.csv",
    ]);
    p.ok(&["publish", "--today", "2023-04-03"]);
    p.ok(&["publish", "--today", "2023-07-14"]);
    p
}

#[test]
fn deleted_and_damaged_publication_files_are_regenerated_byte_for_byte() {
    let p = published_year();
    let public = p.path("out/public");
    let before = tree(&public);
    let notice = "2023/zhian.hotel/2023-H1";
    for f in ["notice.html", "notice.csv", "notice.json"] {
        assert!(
            before.contains_key(&format!("{notice}/{f}")),
            "{:?}",
            before.keys()
        );
    }
    // A deleted notice folder, a deleted index page, a damaged index feed.
    std::fs::remove_dir_all(public.join(notice)).expect("delete the notice");
    std::fs::remove_file(public.join("index.html")).expect("delete the index");
    std::fs::write(public.join("index.json"), "damaged").expect("damage the feed");
    let (code, out, err) = run(p.suiji(&["regenerate"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("zhian.hotel 2023-H1 notice: written")
            && out.contains("index: written")
            && out.contains("3 publication output(s): 3 written, 0 unchanged, 0 failed"),
        "{out}"
    );
    let after = tree(&public);
    for (k, v) in &before {
        assert!(after.get(k) == Some(v), "{k} differs after regenerate");
    }
    let aside: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(aside[0].starts_with("index.json.altered-"), "{aside:?}");
    assert_eq!(after[aside[0]], b"damaged");
    // Once more: nothing to do.
    let (code, out, _) = run(p.suiji(&["regenerate"]));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("0 written") && out.ends_with("0 failed\n"),
        "{out}"
    );
    assert!(
        !out.contains(" written;") && !out.contains(": written"),
        "{out}"
    );
    // Rules changed since the publication: its notice cannot come back byte for byte, and
    // nothing is written in its place.
    std::fs::remove_dir_all(public.join(notice)).expect("delete the notice");
    p.edit(
        "config/suiji.toml",
        "approval = \"two-person\"",
        "approval = \"none\"",
    );
    p.edit("config/suiji.toml", "平邑县公安局", "平邑县公安局（新）");
    let (code, out, _) = run(p.suiji(&["regenerate"]));
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("zhian.hotel 2023-H1 notice: FAILED: public/2023/zhian.hotel/2023-H1/notice.html as rebuilt")
            && out.contains("the rules it was published under have changed since"),
        "{out}"
    );
    assert!(!public.join(notice).exists());
}

#[test]
fn verify_takes_a_draw_number() {
    let p = quarterly();
    let (code, out, err) = run(p.suiji(SIMULATE));
    assert_eq!(code, 0, "{out}{err}");
    for arg in ["3", "#3"] {
        let (code, out, err) = run(p.suiji(&["verify", arg]));
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.starts_with("identical: "), "{out}");
        assert!(out.contains("(draw #3;"), "{out}");
    }
    let (code, _, err) = run(p.suiji(&["verify", "99"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no draw #99 is recorded"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// A read-only copy of the data

/// A folder bound read-only onto itself for as long as this lives (`mount --bind` then
/// `remount,ro`): a real read-only file system, which `chmod` is not for root.
struct ReadOnlyMount(std::path::PathBuf);

impl ReadOnlyMount {
    /// `None` (with the reason) where this process cannot mount.
    fn new(dir: &Path) -> Result<ReadOnlyMount, String> {
        let mount = |args: &[&str]| {
            std::process::Command::new("mount")
                .args(args)
                .output()
                .map_err(|e| format!("mount: {e}"))
                .and_then(|o| {
                    if o.status.success() {
                        Ok(())
                    } else {
                        Err(String::from_utf8_lossy(&o.stderr).into_owned())
                    }
                })
        };
        let d = dir.to_str().ok_or("not UTF-8")?;
        mount(&["--bind", d, d])?;
        let guard = ReadOnlyMount(dir.to_path_buf());
        mount(&["-o", "remount,bind,ro", d])?;
        Ok(guard)
    }
}

impl Drop for ReadOnlyMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn read_only_commands_work_on_a_read_only_copy_of_the_data() {
    let p = quarterly();
    let (code, out, err) = run(p.suiji(SIMULATE));
    assert_eq!(code, 0, "{out}{err}");
    let manifest = p.path("out/draws/zhian.q/2023-04-01T0900/manifest.json");
    let manifest = manifest.to_str().expect("UTF-8 path");
    let ro = match ReadOnlyMount::new(&p.path("data")) {
        Ok(m) => m,
        Err(why) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: cannot mount data/ read-only here ({why}); CI runs it as root");
            return;
        }
        Err(why) => panic!("CI must be able to mount data/ read-only: {why}"),
    };
    // Proof that the folder is read-only to this (root) process.
    assert!(
        std::fs::write(p.path("data/probe"), "x").is_err(),
        "data/ is writable"
    );
    for args in [
        &["draws"][..],
        &["audit", "verify"],
        &["audit", "log"],
        &["verify", "2"],
        &["verify", manifest],
        &["status", "--today", "2023-12-31"],
        &["report", "--year", "2023", "--today", "2023-12-31"],
        &["plan", "--year", "2023"],
        &["schedule", "--year", "2023"],
        &["regenerate"],
    ] {
        let (code, out, err) = run(p.suiji(args));
        assert!(
            code == 0 || (args[0] == "status" && code == 3),
            "suiji {args:?} on a read-only copy: exit {code}\n{out}{err}"
        );
    }
    // A command that records fails cleanly, naming the database.
    let redraw = [
        "draw",
        "zhian.q",
        "--period",
        "2023-04-01T0900",
        "--redraw",
        "--reason",
        "test",
    ];
    let (code, out, err) = run(p.suiji(&redraw));
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("suiji.sqlite3"), "{err}");
    drop(ro);
}

// ---------------------------------------------------------------------------------------------
// A full disk

/// A small tmpfs mounted on a folder for as long as this lives: a real file system that runs
/// out of space.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    /// `Err` (with the reason) where this process cannot mount.
    fn new(dir: &Path, size: &str) -> Result<SmallDisk, String> {
        let d = dir.to_str().ok_or("not UTF-8")?;
        let o = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs", d])
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if o.status.success() {
            Ok(SmallDisk(dir.to_path_buf()))
        } else {
            Err(String::from_utf8_lossy(&o.stderr).into_owned())
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_draw_that_fills_the_disk_records_nothing_and_leaves_no_staging_folder() {
    let p = Project::shipped();
    std::fs::create_dir_all(p.path("out")).expect("out/");
    let disk = match SmallDisk::new(&p.path("out"), "64k") {
        Ok(m) => m,
        Err(why) if std::env::var_os("CI").is_none() => {
            eprintln!(
                "SKIPPED: cannot mount a small tmpfs on out/ here ({why}); CI runs it as root"
            );
            return;
        }
        Err(why) => panic!("CI must be able to mount a tmpfs: {why}"),
    };
    let draw = ["draw", "zhian.hotel", "--period", "2025-H1"];
    let (code, out, err) = run(p.suiji(&draw));
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("No space left on device"), "{err}");
    // Nothing recorded, nothing left behind on the full disk.
    assert!(draws(&p).is_empty());
    let left: Vec<String> = tree(&p.path("out")).into_keys().collect();
    assert!(left.is_empty(), "left on the full disk: {left:?}");
    let dirs: Vec<String> = walkdirs(&p.path("out"));
    assert!(
        dirs.iter().all(|d| !d.contains(".staging-")),
        "staging left: {dirs:?}"
    );
    // With space again, the same draw goes through.
    drop(disk);
    let (code, out, err) = run(p.suiji(&draw));
    assert_eq!(code, 0, "{out}{err}");
    assert_complete(&p);
}

/// Every folder under `dir`, by path.
fn walkdirs(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().is_dir() {
            out.push(e.path().display().to_string());
            out.extend(walkdirs(&e.path()));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Health

/// `GET path` over plain HTTP/1.1 to `addr`; the whole answer, headers included.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connects");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("request sent");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("answer read");
    answer
}

#[test]
fn healthz_of_a_console_with_its_scheduler_says_the_scheduler_runs() {
    let p = one_past_draw();
    let mut server = p.spawn("serve", &["serve", "--listen", "127.0.0.1:0"]);
    let line = server.expect_line("suiji console on http://");
    let addr = line
        .split("http://")
        .nth(1)
        .map(|a| a.trim().trim_end_matches('/').to_string())
        .expect("address");
    let answer = http_get(&addr, "/healthz");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.ends_with("ok\n数据库：可用\n规则：已加载\n调度：运行中\n"),
        "{answer}"
    );
}
