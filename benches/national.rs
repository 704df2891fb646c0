//! National-scale draw over a registry file: one stratified 5% risk-weighted draw, with an `eligible` hook
//! and inspector teams, over a generated registry of `SUIJI_BENCH_ROWS` targets (10 000 000 by
//! default, about 1.5 GB of CSV). Prints the wall time by phase, rows/s and peak memory.
//! See benches/README.md.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use chrono::NaiveDate;
use suiji::draw::manifest::{RegistryInfo, SourceFile};
use suiji::draw::pipeline::{self, DrawInput, History, Options, Phase, Source};
use suiji::draw::{Algorithm, Seed};
use suiji::registry::Known;
use suiji::registry::generate::{CATEGORIES, write_inspectors, write_targets};
use suiji::schedule::{DrawKind, Period};

fn env_count(name: &str, default: u64) -> u64 {
    let Ok(v) = std::env::var(name) else {
        return default;
    };
    let v = v.trim().replace('_', "");
    let (digits, scale) = match v.strip_suffix(['M', 'm']) {
        Some(d) => (d, 1_000_000),
        None => match v.strip_suffix(['K', 'k']) {
            Some(d) => (d, 1_000),
            None => (v.as_str(), 1),
        },
    };
    match digits.parse::<u64>() {
        Ok(n) => n * scale,
        Err(_) => {
            eprintln!("{name}={v} is not a count; using {default}");
            default
        }
    }
}

fn label(n: u64) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n >= 1_000 && n.is_multiple_of(1_000) {
        format!("{}K", n / 1_000)
    } else {
        n.to_string()
    }
}

/// The kernel's record of this process's peak resident memory (VmHWM), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Current resident memory (VmRSS), in MiB.
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?.to_string();
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// CPU time of the whole process so far (user + system, all threads), in seconds.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line: 12 and 13 after the name.
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Makes the kernel forget the peak so far (Linux: "5" to clear_refs resets VmHWM).
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Writes a file through a temporary name, so an interrupted run leaves no partial file.
fn generate(path: &Path, what: &str, write: impl FnOnce(&Path) -> std::io::Result<()>) {
    if path.exists() {
        println!("reusing {}", path.display());
        return;
    }
    let tmp = path.with_extension("csv.partial");
    let t = Instant::now();
    if let Err(e) = write(&tmp).and_then(|_| std::fs::rename(&tmp, path)) {
        panic!("cannot write {}: {e}", path.display());
    }
    println!(
        "generated {} ({what}) in {:.1} s",
        path.display(),
        t.elapsed().as_secs_f64()
    );
}

/// The shipped 治安 rules, with the hotel matter widened to every generated category, an
/// `eligible` hook that exempts class A, and a workload cap (`SUIJI_BENCH_CAP`; by default large enough
/// to staff every team).
fn bench_rules(root: &Path, dir: &Path, cap: u64) -> suiji::rules::Loaded {
    let copy = |from: &str, to: &str, edit: &dyn Fn(String) -> String| {
        let text = std::fs::read_to_string(root.join(from))
            .unwrap_or_else(|e| panic!("cannot read {from}: {e}"));
        let path = dir.join(to);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, edit(text)).expect("write rules");
    };
    copy("config/suiji.toml", "config/suiji.toml", &|t| t);
    for other in ["jindu.toml", "wangan.toml", "churujing.toml"] {
        copy(&format!("rules/{other}"), &format!("rules/{other}"), &|t| t);
    }
    let categories: Vec<String> = CATEGORIES.iter().map(|c| format!("\"{c}\"")).collect();
    copy("rules/zhian.toml", "rules/zhian.toml", &|t| {
        let from_hooks = "hooks = { script = \"zhian.rhai\", weight = \"risk_weight\" }";
        assert!(
            t.contains(from_hooks),
            "zhian.toml: hotel hooks line not found"
        );
        t.replacen(
            "categories = [\"hotel\"]",
            &format!("categories = [{}]", categories.join(", ")),
            1,
        )
        .replacen(
            from_hooks,
            &format!("hooks = {{ script = \"zhian.rhai\", eligible = \"not_exempt\", weight = \"risk_weight\" }}\nworkload_cap = {cap}"),
            1,
        )
    });
    copy("rules/zhian.rhai", "rules/zhian.rhai", &|t| {
        t + "\n// Bench only: class A (lowest risk) is exempt from this round.\nfn not_exempt(target, ctx) { target.class != \"A\" }\n"
    });
    match suiji::rules::load(&dir.join("config/suiji.toml")) {
        Ok(l) => l,
        Err(e) => panic!("bench rules do not load:\n{}", e.render()),
    }
}

fn main() {
    let rows = env_count("SUIJI_BENCH_ROWS", 10_000_000);
    let inspectors = env_count("SUIJI_BENCH_INSPECTORS", 100);
    let threads = env_count("SUIJI_BENCH_THREADS", 2).max(1) as usize;
    let cap = env_count("SUIJI_BENCH_CAP", 100_000).max(1);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let dir = target_dir.join("bench");
    std::fs::create_dir_all(&dir).expect("create target/bench");
    let targets = dir.join(format!("targets-{}.csv", label(rows)));
    let people = dir.join(format!("inspectors-{}.csv", label(inspectors)));
    generate(&targets, &format!("{rows} targets"), |p| {
        write_targets(p, rows, 1)
    });
    generate(&people, &format!("{inspectors} inspectors"), |p| {
        write_inspectors(p, inspectors, 1)
    });

    let tmp = tempfile::tempdir().expect("tempdir");
    let loaded = bench_rules(&root, tmp.path(), cap);
    let matter = loaded.model.matter("zhian.hotel").expect("hotel matter");
    let known = Known::from_model(&loaded.model);
    let mut diags = Vec::new();
    let staff = suiji::registry::read_inspectors(&people, "inspectors.csv", &known, &mut diags);
    if let Some(d) = diags.iter().find(|d| d.is_error()) {
        panic!("inspector registry: {} problems, first: {d:?}", diags.len());
    }
    let bytes = std::fs::metadata(&targets).map(|m| m.len()).unwrap_or(0);

    let period = Period {
        id: "2024-H1".into(),
        start: NaiveDate::from_ymd_opt(2024, 1, 1).expect("date"),
        end: NaiveDate::from_ymd_opt(2024, 6, 30).expect("date"),
    };
    let history = History::default();
    let draw = DrawInput {
        algorithm: Algorithm::LATEST,
        bureau: &loaded.model.config.bureau.name,
        matter,
        rules_hash: &loaded.model.rules_hash,
        period: &period,
        kind: DrawKind::Regular,
        ratio: matter.ratio,
        key_area_only: false,
        reference_date: NaiveDate::from_ymd_opt(2024, 1, 2).expect("date"),
        issue_at: "2024-01-02T09:00".into(),
        due: NaiveDate::from_ymd_opt(2024, 1, 31).expect("date"),
        seed: Seed::from_text("national bench"),
        seed_source: "bench",
        inspectors: &staff,
        registry: RegistryInfo {
            targets_rows: rows as usize,
            inspectors_rows: staff.len(),
            sources: vec![SourceFile {
                file: targets.display().to_string(),
                sha256: String::new(),
            }],
            ..RegistryInfo::default()
        },
        history: &history,
        team: None,
        drawn_at: String::new(),
        exclusions_in_file: true,
    };
    let rows = Source::Csv {
        path: &targets,
        known: &known,
    };
    // Each phase's start: time, resident memory, the peak so far, CPU time so far.
    type Mark = (Phase, Instant, f64, f64, f64);
    let marks: Mutex<Vec<Mark>> = Mutex::new(Vec::new());
    let mark = |p: Phase| {
        let t = Instant::now();
        let (rss, peak) = (rss_mib(), peak_rss_mib().unwrap_or(0.0));
        let cpu = cpu_seconds();
        if let Ok(mut m) = marks.lock() {
            m.push((p, t, rss, peak, cpu));
        }
    };
    let opts = Options {
        threads,
        list_exclusions_up_to: 100_000,
        on_phase: Some(&mark),
        ..Options::default()
    };
    let reset = reset_peak();
    let before = peak_rss_mib().unwrap_or(0.0);
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let out = match pipeline::run(&draw, rows, &loaded.sandbox, &opts) {
        Ok(o) => o,
        Err(e) => panic!("draw failed: {e:?}"),
    };
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let peak = peak_rss_mib().unwrap_or(0.0);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

    let marks = marks.into_inner().unwrap_or_default();
    let at = |p: Phase| marks.iter().find(|m| m.0 == p);
    let span = |a: Phase, b: Phase| match (at(a), at(b)) {
        (Some(a), Some(b)) => format!(
            "{:.3} s (CPU {:.2} s)",
            b.1.duration_since(a.1).as_secs_f64(),
            b.4 - a.4
        ),
        _ => "?".to_string(),
    };
    // The peak within a phase is the peak recorded at the start of the next one.
    let mem = |b: Phase| at(b).map_or(String::new(), |m| format!("  (peak so far {:.0} MiB)", m.3));
    let m = &out.manifest;
    let s = &out.stats;
    let staffed = m.selected.iter().filter(|x| x.unstaffed.is_none()).count();
    let pool = staff
        .iter()
        .filter(|i| {
            i.active
                && i.department == matter.department
                && matter
                    .qualifications
                    .iter()
                    .all(|q| i.qualifications.contains(q))
        })
        .count();
    println!();
    println!(
        "registry      {} ({:.2} GB, {} rows), {} inspectors ({} in the team pool)",
        targets.display(),
        bytes as f64 / 1e9,
        s.rows,
        staff.len(),
        pool
    );
    println!(
        "draw          {} {}: {} strata, ratio {}, threads {}",
        m.matter,
        m.period.id,
        m.strata.len(),
        matter.ratio,
        s.threads
    );
    println!(
        "rows          in scope {}, eligible {}, excluded {} ({}), drawn {} ({} staffed), hook calls {}",
        s.in_scope,
        s.eligible,
        s.excluded,
        if out.exclusions_listed {
            "listed"
        } else {
            "summarised"
        },
        s.drawn,
        staffed,
        s.hook_calls
    );
    println!(
        "wall          {wall:.3} s  (CPU {cpu:.2} s; load average {})",
        load.split_whitespace().next().unwrap_or("?")
    );
    println!(
        "  pass 1      {}  parse, scope, exclusions, hooks, keys{}",
        span(Phase::Classify, Phase::Plan),
        mem(Phase::Plan)
    );
    println!(
        "  strata      {}  merge, k, λ{}",
        span(Phase::Plan, Phase::Select),
        mem(Phase::Select)
    );
    println!(
        "  ranking     {}  top k per stratum, drawn rows (and listed exclusions) read again{}",
        span(Phase::Select, Phase::Teams),
        mem(Phase::Teams)
    );
    println!(
        "  teams       {}{}",
        span(Phase::Teams, Phase::Manifest),
        mem(Phase::Manifest)
    );
    println!(
        "  manifest    {}  selections, sealing (SHA-256 of its JSON){}",
        span(Phase::Manifest, Phase::Done),
        mem(Phase::Done)
    );
    println!(
        "throughput    {:.2} M rows/s, {:.2} GB/s",
        s.rows as f64 / wall / 1e6,
        bytes as f64 / wall / 1e9
    );
    println!(
        "peak RSS      {peak:.0} MiB{}",
        if reset {
            format!(" (reset before the draw; {before:.0} MiB at the start)")
        } else {
            " (whole process)".to_string()
        }
    );
    println!(
        "manifest      {}",
        &m.manifest_hash[..16.min(m.manifest_hash.len())]
    );

    if std::env::var_os("SUIJI_BENCH_VERIFY").is_some() {
        verify(&loaded, &draw, &targets, &people, m);
    }
}

/// Loads the registry in full and draws from it in memory: the manifests must be the same.
fn verify(
    loaded: &suiji::rules::Loaded,
    input: &DrawInput<'_>,
    targets: &Path,
    people: &Path,
    streamed: &suiji::draw::manifest::Manifest,
) {
    let t = Instant::now();
    let known = Known::from_model(&loaded.model);
    let root = targets.parent().unwrap_or(Path::new("."));
    let registry = match suiji::registry::load(
        &[targets.to_path_buf()],
        &[people.to_path_buf()],
        root,
        &known,
    ) {
        Ok(r) => r,
        Err(d) => panic!("registry does not load: {} problems", d.len()),
    };
    let mut draw = input.clone();
    draw.inspectors = &registry.inspectors;
    let rows = Source::Memory(&registry.targets);
    let want = match pipeline::run(&draw, rows, &loaded.sandbox, &Options::default()) {
        Ok(d) => d.manifest,
        Err(e) => panic!("draw in memory failed: {e}"),
    };
    // Exclusions may be summarised in the streamed manifest; everything else must be equal.
    let strip = |m: &suiji::draw::manifest::Manifest| {
        let mut m = m.clone();
        m.exclusions.clear();
        m.manifest_hash.clear();
        m
    };
    let same = strip(&want) == strip(streamed)
        && (want.exclusions.len() > 100_000 || want.manifest_hash == streamed.manifest_hash);
    println!(
        "verify        in memory over the loaded registry: {} ({:.1} s, peak RSS {:.0} MiB)",
        if same { "same manifest" } else { "DIFFERENT" },
        t.elapsed().as_secs_f64(),
        peak_rss_mib().unwrap_or(0.0)
    );
}
