//! `config/suiji.toml` → [`Config`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::rules::model::{
    Algorithm, Approval, Bureau, Config, PlanText, Registries, SeedSourceConfig, TrustedProxy,
};
use crate::rules::reader::{Cx, Table, parse};
use crate::script::ScriptLimits;

const TOP_KEYS: &[&str] = &[
    "timezone",
    "bureau",
    "paths",
    "calendar",
    "registries",
    "publication",
    "seed",
    "limits",
    "scripts",
    "categories",
    "qualifications",
    "plan",
    "draw",
    "rules",
    "web",
    "database",
];

/// Reads the config text. `path` is the config file; relative paths resolve against `root`.
pub(crate) fn read_config(text: &str, path: &Path, root: &Path, cx: &mut Cx<'_>) -> Option<Config> {
    let value = parse(text, cx)?;
    let mut top = Table::from_value(value, "", cx)?;
    let timezone = read_timezone(&mut top, cx);
    let bureau = read_bureau(&mut top, cx);
    let [rules_dir, data_dir, output_dir, holidays_dir] = read_paths(&mut top, root, cx);
    let provisional_calendar = read_calendar(&mut top, cx);
    let registries = read_registries(&mut top, root, cx);
    let public_fields = read_public_fields(&mut top, cx);
    let seed_source = read_seed(&mut top, root, cx);
    let mut limits = read_limits(&mut top, cx);
    read_scripts(&mut top, &mut limits, cx);
    let categories = named_map(&mut top, "categories", cx);
    let qualifications = named_map(&mut top, "qualifications", cx);
    let plan = read_plan(&mut top, cx);
    let algorithm = read_draw(&mut top, cx);
    let approval = read_approval(&mut top, cx);
    let trusted_proxies = read_web(&mut top, cx);
    let database_url = read_database(&mut top, cx);

    top.finish(TOP_KEYS, cx);

    Some(Config {
        algorithm,
        path: path.to_path_buf(),
        root: root.to_path_buf(),
        bureau: bureau?,
        timezone: timezone?,
        rules_dir,
        data_dir,
        output_dir,
        holidays_dir,
        provisional_calendar,
        registries,
        limits,
        public_fields,
        categories,
        qualifications,
        seed_source,
        plan,
        legacy_ratios: false,
        approval,
        shown_root: root.to_path_buf(),
        trusted_proxies,
        database_url,
    })
}

/// `[database] url`: the PostgreSQL database of a shared deployment (absent: the SQLite file
/// in the data folder).
fn read_database(top: &mut Table<'_>, cx: &mut Cx<'_>) -> Option<String> {
    let mut t = top.table("database", cx)?;
    let url = t.string("url", cx);
    t.finish(&["url"], cx);
    let url = url?;
    if crate::store::pg::is_postgres_url(&url.value) {
        return Some(url.value);
    }
    cx.error(
        url.span,
        "`url` is not a PostgreSQL URL",
        "expected postgres://…",
    )
    .help
    .push(
        "write url = \"postgres://USER:PASSWORD@HOST:5432/DATABASE\", or remove [database] to keep the SQLite file in the data folder".into(),
    );
    None
}

/// `[web] trusted_proxies`: the reverse proxies whose `X-Forwarded-For` the console believes.
fn read_web(top: &mut Table<'_>, cx: &mut Cx<'_>) -> Vec<TrustedProxy> {
    let mut proxies = Vec::new();
    if let Some(mut t) = top.table("web", cx) {
        for given in t.strings("trusted_proxies", cx).unwrap_or_default() {
            match TrustedProxy::parse(&given.value) {
                Some(p) => proxies.push(p),
                None => {
                    let d = cx.error(
                        given.span,
                        format!("`{}` is not an IP address or network", given.value),
                        "not an address",
                    );
                    d.help.push(
                        "write an address (`127.0.0.1`, `::1`) or a network (`10.0.0.0/8`)".into(),
                    );
                }
            }
        }
        t.finish(&["trusted_proxies"], cx);
    }
    proxies
}

fn read_timezone(top: &mut Table<'_>, cx: &mut Cx<'_>) -> Option<chrono_tz::Tz> {
    match top.string("timezone", cx) {
        Some(tz) => match tz.value.parse::<chrono_tz::Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                cx.error(
                    tz.span,
                    format!("unknown time zone `{}`", tz.value),
                    "not an IANA time zone",
                )
                .help
                .push("use \"Asia/Shanghai\"".into());
                None
            }
        },
        None => Some(chrono_tz::Asia::Shanghai),
    }
}

fn read_bureau(top: &mut Table<'_>, cx: &mut Cx<'_>) -> Option<Bureau> {
    let bureau = top.table("bureau", cx).and_then(|mut t| {
        let name = t.req_string("name", "\"平邑县公安局\"", cx);
        let region = t.string("region", cx);
        let code = t.string("code", cx);
        t.finish(&["name", "region", "code"], cx);
        Some(Bureau {
            name: name?.value,
            region: region.map(|r| r.value).unwrap_or_default(),
            code: code.map(|c| c.value),
        })
    });
    if bureau.is_none() && !cx.diags.iter().any(|d| d.message.contains("bureau")) {
        cx.error(
            0..1,
            "missing [bureau] table",
            "the config needs a [bureau] table",
        )
        .help
        .push("add [bureau] with name = \"…\" and region = \"…\"".into());
    }
    bureau
}

/// The rules, data, output and holidays folders.
fn read_paths(top: &mut Table<'_>, root: &Path, cx: &mut Cx<'_>) -> [PathBuf; 4] {
    let mut rules_dir = root.join("rules");
    let mut data_dir = root.join("data");
    let mut output_dir = root.join("out");
    let mut holidays_dir = root.join("config/holidays");
    if let Some(mut t) = top.table("paths", cx) {
        for (key, slot) in [
            ("rules", &mut rules_dir),
            ("data", &mut data_dir),
            ("output", &mut output_dir),
            ("holidays", &mut holidays_dir),
        ] {
            if let Some(p) = t.string(key, cx) {
                *slot = root.join(p.value);
            }
        }
        t.finish(&["rules", "data", "output", "holidays"], cx);
    }
    [rules_dir, data_dir, output_dir, holidays_dir]
}

fn read_calendar(top: &mut Table<'_>, cx: &mut Cx<'_>) -> bool {
    let mut provisional_calendar = false;
    if let Some(mut t) = top.table("calendar", cx) {
        if let Some(b) = t.boolean("provisional", cx) {
            provisional_calendar = b.value;
        }
        t.finish(&["provisional"], cx);
    }
    provisional_calendar
}

fn read_registries(top: &mut Table<'_>, root: &Path, cx: &mut Cx<'_>) -> Registries {
    let mut registries = Registries {
        targets: Vec::new(),
        inspectors: Vec::new(),
    };
    if let Some(mut t) = top.table("registries", cx) {
        registries.targets = t
            .strings("targets", cx)
            .unwrap_or_default()
            .into_iter()
            .map(|p| root.join(p.value))
            .collect();
        registries.inspectors = t
            .strings("inspectors", cx)
            .unwrap_or_default()
            .into_iter()
            .map(|p| root.join(p.value))
            .collect();
        t.finish(&["targets", "inspectors"], cx);
    }
    registries
}

fn read_public_fields(top: &mut Table<'_>, cx: &mut Cx<'_>) -> Vec<String> {
    let mut public_fields = vec![
        "id".to_string(),
        "name".into(),
        "category".into(),
        "district".into(),
    ];
    if let Some(mut t) = top.table("publication", cx) {
        if let Some(f) = t.strings("public_fields", cx) {
            public_fields.clear();
            for field in f {
                if PUBLIC_FIELD_CHOICES.contains(&field.value.as_str()) {
                    public_fields.push(field.value);
                } else {
                    let d = cx.error(
                        field.span,
                        format!("`{}` cannot be published", field.value),
                        "not a public target field",
                    );
                    d.help
                        .push(format!("choose from: {}", PUBLIC_FIELD_CHOICES.join(", ")));
                }
            }
        }
        t.finish(&["public_fields"], cx);
    }
    public_fields
}

fn read_seed(top: &mut Table<'_>, root: &Path, cx: &mut Cx<'_>) -> SeedSourceConfig {
    let mut seed_source = SeedSourceConfig::Os;
    if let Some(mut t) = top.table("seed", cx) {
        if let Some(src) = t.string("source", cx) {
            match src.value.as_str() {
                "os" => {}
                "public" => seed_source = SeedSourceConfig::Public,
                "file" => {
                    if let Some(f) = t.req_string("file", "\"config/seed.txt\"", cx) {
                        seed_source = SeedSourceConfig::File {
                            path: root.join(f.value),
                            at: crate::diag::Location::Span {
                                file: cx.file,
                                range: src.span.clone(),
                            },
                        };
                    }
                }
                other => {
                    cx.error(
                        src.span,
                        format!("unknown seed source `{other}`"),
                        "expected \"os\", \"file\" or \"public\"",
                    );
                }
            }
        }
        t.finish(&["source", "file"], cx);
    }
    seed_source
}

fn read_limits(top: &mut Table<'_>, cx: &mut Cx<'_>) -> ScriptLimits {
    let mut limits = ScriptLimits::default();
    if let Some(mut t) = top.table("limits", cx) {
        let big = 1_000_000_000i64;
        if let Some(v) = t.integer("max_operations", 1_000, big, cx) {
            limits.max_operations = v.value as u64;
        }
        if let Some(v) = t.integer("max_call_depth", 1, 256, cx) {
            limits.max_call_depth = v.value as usize;
        }
        if let Some(v) = t.integer("max_expr_depth", 8, 1024, cx) {
            limits.max_expr_depth = v.value as usize;
        }
        if let Some(v) = t.integer("max_string_size", 64, 100_000_000, cx) {
            limits.max_string_size = v.value as usize;
        }
        if let Some(v) = t.integer("max_array_size", 16, 10_000_000, cx) {
            limits.max_array_size = v.value as usize;
        }
        if let Some(v) = t.integer("max_map_size", 16, 10_000_000, cx) {
            limits.max_map_size = v.value as usize;
        }
        // Older configs set a per-call time limit; hooks are now limited by the work they do
        // (operations, depth, sizes), the same on every machine. The key is still checked so
        // those configs (and the rule sets archived with their draws) load unchanged.
        let _ = t.integer("timeout_ms", 1, 600_000, cx);
        t.finish(
            &[
                "max_operations",
                "max_call_depth",
                "max_expr_depth",
                "max_string_size",
                "max_array_size",
                "max_map_size",
                "timeout_ms",
            ],
            cx,
        );
    }
    limits
}

/// `[draw] algorithm = "suiji-draw/2"`: the algorithm of new draws; without the key, the latest
/// ([`Algorithm::LATEST`]). `"suiji-draw/1"` keeps a project on version 1. The config is in
/// the rules archive, so a move between versions is recorded like any rules change; recorded
/// draws re-run with the version their manifest names, whatever the config says now.
fn read_draw(top: &mut Table<'_>, cx: &mut Cx<'_>) -> Algorithm {
    let mut algorithm = Algorithm::LATEST;
    if let Some(mut t) = top.table("draw", cx) {
        if let Some(name) = t.string("algorithm", cx) {
            match Algorithm::from_name(&name.value) {
                Some(a) => algorithm = a,
                None => {
                    cx.error(
                        name.span,
                        format!("unknown draw algorithm `{}`", name.value),
                        "not an algorithm this suiji implements",
                    )
                    .help
                    .push(format!(
                        "write \"{}\" (new draws) or \"{}\"",
                        Algorithm::V2.name(),
                        Algorithm::V1.name()
                    ));
                }
            }
        }
        t.finish(&["algorithm"], cx);
    }
    algorithm
}

/// `[rules] approval = "two-person" | "none"` and `self_approval = true|false`.
fn read_approval(top: &mut Table<'_>, cx: &mut Cx<'_>) -> Approval {
    let mut approval = Approval::default();
    if let Some(mut t) = top.table("rules", cx) {
        if let Some(mode) = t.string("approval", cx) {
            match mode.value.as_str() {
                "two-person" => approval.required = true,
                "none" => approval.required = false,
                other => {
                    cx.error(
                        mode.span,
                        format!("unknown approval `{other}`"),
                        "expected \"two-person\" or \"none\"",
                    )
                    .help
                    .push("write approval = \"two-person\" (a second person approves every rule change) or \"none\" (files are used as saved)".into());
                }
            }
        }
        if let Some(b) = t.boolean("self_approval", cx) {
            approval.self_approval = b.value;
        }
        t.finish(&["approval", "self_approval"], cx);
    }
    approval
}

/// `[scripts]`: what the hooks of one draw may use together.
fn read_scripts(top: &mut Table<'_>, limits: &mut ScriptLimits, cx: &mut Cx<'_>) {
    if let Some(mut t) = top.table("scripts", cx) {
        if let Some(v) = t.integer("draw_operations", 1_000, i64::MAX, cx) {
            limits.draw_operations = v.value as u64;
        }
        t.finish(&["draw_operations"], cx);
    }
}

fn read_plan(top: &mut Table<'_>, cx: &mut Cx<'_>) -> PlanText {
    let mut plan = PlanText::default();
    if let Some(mut t) = top.table("plan", cx) {
        plan.title = t.string("title", cx).map(|s| s.value);
        plan.preamble = t.string("preamble", cx).map(|s| s.value);
        plan.principles = t.string("principles", cx).map(|s| s.value);
        t.finish(&["title", "preamble", "principles"], cx);
    }
    plan
}

/// Target fields a bureau may choose to publish. Inspectors' data is never public.
pub(crate) const PUBLIC_FIELD_CHOICES: &[&str] =
    &["id", "name", "category", "district", "address", "licence"];

fn named_map(top: &mut Table<'_>, key: &str, cx: &mut Cx<'_>) -> BTreeMap<String, String> {
    top.string_map(key, cx)
        .into_iter()
        .map(|(k, v)| (k.value, v.value))
        .collect()
}

/// The project root for a config path: the parent of its `config/` folder, else its folder.
pub fn root_of(config: &Path) -> PathBuf {
    let dir = config.parent().map(Path::to_path_buf).unwrap_or_default();
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };
    if dir.file_name().is_some_and(|n| n == "config") {
        dir.parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."))
    } else {
        dir
    }
}
