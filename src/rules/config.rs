//! `config/suiji.toml` → [`Config`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::rules::model::{
    Algorithm, Approval, Bureau, Config, PlanText, Registries, SeedSourceConfig, TrustedProxy,
};
use crate::rules::reader::{Cx, Sp, Table, parse};
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
    let Publication {
        public_fields,
        frame_fields,
        site_url,
    } = read_publication(&mut top, cx);
    let seed_source = read_seed(&mut top, root, cx);
    let mut limits = read_limits(&mut top, cx);
    read_scripts(&mut top, &mut limits, cx);
    let categories = named_map(&mut top, "categories", cx);
    let qualifications = named_map(&mut top, "qualifications", cx);
    let plan = read_plan(&mut top, cx);
    let algorithm = read_draw(&mut top, cx);
    let approval = read_approval(&mut top, cx);
    let trusted_proxies = read_web(&mut top, cx);
    let (database_url, database_schema) = read_database(&mut top, cx);

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
        frame_fields,
        site_url,
        categories,
        qualifications,
        seed_source,
        plan,
        legacy_ratios: false,
        approval,
        shown_root: root.to_path_buf(),
        trusted_proxies,
        database_url,
        database_schema,
    })
}

/// `[database]`: `url`, the PostgreSQL database of a shared deployment (absent: the SQLite file
/// in the data folder, unless `--database` or `SUIJI_DATABASE` names one), and `schema`, the
/// bureau's own schema in it (absent: `public`). A schema is accepted without a URL (the
/// platform may name the database by `SUIJI_DATABASE`) and means nothing on the SQLite file.
fn read_database(top: &mut Table<'_>, cx: &mut Cx<'_>) -> (Option<String>, Option<String>) {
    let Some(mut t) = top.table("database", cx) else {
        return (None, None);
    };
    let url = t.string("url", cx);
    let schema = t.string("schema", cx);
    t.finish(&["url", "schema"], cx);
    (
        url.and_then(|u| database_url(u, cx)),
        schema.and_then(|s| database_schema(s, cx)),
    )
}

fn database_url(url: Sp<String>, cx: &mut Cx<'_>) -> Option<String> {
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

fn database_schema(schema: Sp<String>, cx: &mut Cx<'_>) -> Option<String> {
    let Some(problem) = crate::store::pg::schema_name_problem(&schema.value) else {
        return Some(schema.value);
    };
    cx.error(
        schema.span,
        format!("`{}` cannot be a bureau's schema: {problem}", schema.value),
        "not a plain schema name",
    )
    .help
    .push(
        "write schema = \"bureau_371326\": lowercase letters, digits and `_`, starting with a letter or `_`, at most 63 bytes, not `pg_…` nor `information_schema`; or remove it to use `public`".into(),
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

/// What `[publication]` says.
struct Publication {
    public_fields: Vec<String>,
    frame_fields: Vec<String>,
    site_url: Option<String>,
}

/// `[publication]`: the public target fields, those a public bundle's frame repeats, and the
/// site's address.
fn read_publication(top: &mut Table<'_>, cx: &mut Cx<'_>) -> Publication {
    let mut public_fields = vec![
        "id".to_string(),
        "name".into(),
        "category".into(),
        "district".into(),
    ];
    let mut frame_fields = None;
    let mut site_url = None;
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
        if let Some(f) = t.strings("frame_fields", cx) {
            frame_fields = Some(read_frame_fields(f, &public_fields, cx));
        }
        if let Some(url) = t.string("site_url", cx) {
            match site_address(&url.value) {
                Ok(u) => site_url = Some(u),
                Err(why) => {
                    let d = cx.error(
                        url.span,
                        format!("`[publication] site_url` {why}"),
                        "not the absolute address of a web folder",
                    );
                    d.help.push(
                        "write the address the public site is published at, e.g. site_url = \"https://www.example.gov.cn/shuangsuiji/\""
                            .into(),
                    );
                }
            }
        }
        t.finish(&["public_fields", "frame_fields", "site_url"], cx);
    }
    Publication {
        frame_fields: frame_fields.unwrap_or_else(|| public_fields.clone()),
        public_fields,
        site_url,
    }
}

/// `[publication] frame_fields`: public fields (each one `public_fields` names) that a public
/// bundle repeats for every target drawn from, in the order given.
fn read_frame_fields(
    listed: Vec<Sp<String>>,
    public_fields: &[String],
    cx: &mut Cx<'_>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for field in listed {
        if out.contains(&field.value) {
            cx.error(
                field.span,
                format!("`{}` is listed twice", field.value),
                "already in `frame_fields`",
            );
        } else if public_fields.contains(&field.value) {
            out.push(field.value);
        } else {
            let d = cx.error(
                field.span,
                format!("`{}` is not a public field", field.value),
                "not in `public_fields`",
            );
            d.help.push(format!(
                "a bundle's frame repeats only fields that `public_fields` publishes: {}",
                public_fields.join(", ")
            ));
        }
    }
    out
}

/// `text` as the address of a web folder, ending in `/` (`http(s)://host[:port][/path]`, the
/// path printable ASCII without query or fragment), or what is wrong with it.
pub(crate) fn site_address(text: &str) -> Result<String, String> {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(|| {
            "must be an absolute address starting with https:// or http://".to_string()
        })?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let label = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if !host.split('.').all(label) {
        return Err(format!("has no valid host name (`{host}`)"));
    }
    if let Some(p) = port
        && !p.parse::<u16>().is_ok_and(|p| p > 0)
    {
        return Err(format!("has an invalid port (`{p}`)"));
    }
    let bad = |c: &char| !c.is_ascii_graphic() || "?#\\\"<>`{}|^".contains(*c);
    if let Some(c) = path.chars().find(bad) {
        return Err(format!(
            "has `{c}` in its path: write the folder's address alone, without query or fragment, spaces and other characters percent-encoded"
        ));
    }
    let mut url = text.to_string();
    if !url.ends_with('/') {
        url.push('/');
    }
    Ok(url)
}

fn read_seed(top: &mut Table<'_>, root: &Path, cx: &mut Cx<'_>) -> SeedSourceConfig {
    match top.table("seed", cx) {
        Some(t) => read_seed_table(t, Some(root), cx),
        None => SeedSourceConfig::Os,
    }
}

/// A `[seed]` table: the config's (`root` given: the project folder a seed file is read
/// from), or a matter's own (`None`: "os" or "public", never a file).
pub(crate) fn read_seed_table(
    mut t: Table<'_>,
    root: Option<&Path>,
    cx: &mut Cx<'_>,
) -> SeedSourceConfig {
    let mut seed_source = SeedSourceConfig::Os;
    let mut public_at = None;
    if let Some(src) = t.string("source", cx) {
        match src.value.as_str() {
            "os" => {}
            "public" => {
                seed_source = SeedSourceConfig::Public(None);
                public_at = Some(src.span.clone());
            }
            "file" if root.is_none() => {
                cx.error(
                    src.span,
                    "a matter's seed source is \"os\" or \"public\"",
                    "a seed file serves simulation databases only, from config/suiji.toml",
                );
            }
            "file" => {
                if let Some(f) = t.req_string("file", "\"config/seed.txt\"", cx) {
                    seed_source = SeedSourceConfig::File {
                        path: root.unwrap_or(Path::new(".")).join(f.value),
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
    let auto = read_public_source(&mut t, public_at.is_some(), cx);
    if let (SeedSourceConfig::Public(slot), Some(a)) = (&mut seed_source, auto) {
        *slot = Some(Box::new(a));
    }
    let mut keys = crate::rules::schema::names(crate::rules::schema::Section::Seed);
    if root.is_some() {
        keys.push("file");
    }
    t.finish(&keys, cx);
    seed_source
}

/// The public source the service commits to by itself (`name`, `announce`, `commit_days`,
/// `fetch_url` or `fetch_command`, `fetch_timeout_secs`), read only with `source = "public"`.
fn read_public_source(
    t: &mut Table<'_>,
    public: bool,
    cx: &mut Cx<'_>,
) -> Option<crate::rules::model::PublicSource> {
    use crate::rules::model::PublicSource;
    let keys = [
        "name",
        "announce",
        "commit_days",
        "fetch_url",
        "fetch_command",
        "fetch_timeout_secs",
    ];
    if !public {
        for key in keys {
            if let Some(span) = t.span_of(key) {
                t.take(key);
                cx.error(
                    span,
                    format!("`seed.{key}` is read only with source = \"public\""),
                    "this key names a public source the service commits to",
                )
                .help
                .push("write source = \"public\", or remove the key".into());
            }
        }
        return None;
    }
    let name = t.string("name", cx);
    if name.is_none() {
        for key in &keys[1..] {
            if let Some(span) = t.span_of(key) {
                t.take(key);
                cx.error(
                    span,
                    format!("`seed.{key}` needs `name`"),
                    "the service commits to a named source only",
                )
                .help
                .push("add name = \"中国福利彩票3D {date} 开奖号码\" ({date} is the day of the value)".into());
            }
        }
        return None;
    }
    let name = name?;
    if !name.value.contains("{date}") {
        cx.error(
            name.span.clone(),
            "`seed.name` has no `{date}`",
            "each draw is committed to the value of one day",
        )
        .help
        .push("write the day as {date}, e.g. name = \"中国福利彩票3D {date} 开奖号码\"".into());
    }
    let announce = read_announce(t, cx);
    let commit_days = t
        .integer("commit_days", 1, 60, cx)
        .map_or(3, |v| v.value as u32);
    let fetch = read_fetch(t, cx);
    let fetch_timeout = t
        .integer("fetch_timeout_secs", 1, 3600, cx)
        .map_or(crate::rules::model::DEFAULT_FETCH_TIMEOUT_SECS, |v| {
            v.value as u64
        });
    Some(PublicSource {
        name: name.value,
        announce: announce?,
        commit_days,
        fetch,
        fetch_timeout: std::time::Duration::from_secs(fetch_timeout),
    })
}

/// `announce`: the time of day a value is announced, `HH:MM`.
fn read_announce(t: &mut Table<'_>, cx: &mut Cx<'_>) -> Option<chrono::NaiveTime> {
    match t.req_string("announce", "\"21:15\"", cx) {
        Some(a) => match chrono::NaiveTime::parse_from_str(a.value.trim(), "%H:%M") {
            Ok(time) => Some(time),
            Err(_) => {
                cx.error(
                    a.span,
                    format!("`seed.announce` = `{}` is not a time of day", a.value),
                    "expected HH:MM in the bureau's time zone",
                )
                .help
                .push(
                    "write when the source announces a day's value, e.g. announce = \"21:15\""
                        .into(),
                );
                None
            }
        },
        None => None,
    }
}

/// `fetch_url` (an `http://` address) or `fetch_command` (a program and its arguments).
fn read_fetch(t: &mut Table<'_>, cx: &mut Cx<'_>) -> Option<crate::rules::model::Fetch> {
    use crate::rules::model::Fetch;
    let url = t.string("fetch_url", cx);
    let command_at = t.span_of("fetch_command");
    let command = t.strings("fetch_command", cx);
    match (url, command) {
        (Some(u), Some(_)) => {
            cx.error(
                u.span,
                "`seed.fetch_url` and `seed.fetch_command` are both given",
                "the value is fetched one way",
            )
            .help
            .push("keep one of them".into());
            None
        }
        (Some(u), None) => {
            if u.value.starts_with("http://") && u.value.len() > "http://".len() {
                Some(Fetch::Url(u.value))
            } else {
                let e = cx.error(
                    u.span,
                    format!("`seed.fetch_url` = `{}` is not an http:// address", u.value),
                    "suiji fetches http:// addresses itself",
                );
                e.help.push(
                    "for https://, run a program: fetch_command = [\"curl\", \"-fsS\", \"https://…/{date}\"]".into(),
                );
                None
            }
        }
        (None, Some(c)) if c.is_empty() => {
            cx.error(
                command_at.unwrap_or_default(),
                "`seed.fetch_command` is empty",
                "expected a program and its arguments",
            )
            .help
            .push("e.g. fetch_command = [\"curl\", \"-fsS\", \"https://…/{date}\"]".into());
            None
        }
        (None, Some(c)) => Some(Fetch::Command(c.into_iter().map(|s| s.value).collect())),
        (None, None) => None,
    }
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
