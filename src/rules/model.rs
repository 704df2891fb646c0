//! The validated rule model. Nothing downstream of `rules::load` sees a raw TOML struct.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::calendar::Holiday;
use crate::script::{Hook, ScriptLimits};

/// Everything the engine needs from `config/suiji.toml` and `rules/`.
#[derive(Debug, Clone)]
pub struct Model {
    pub config: Config,
    pub departments: Vec<Department>,
    /// Joint plans (联合抽查): each drawn and issued as one matter whose visits check the
    /// matters of one or several departments together; in the order written, lead department
    /// by lead department.
    pub joints: Vec<Matter>,
    /// SHA-256 (hex) of [`Model::rules_archive`]: names the rule set in manifests.
    pub rules_hash: String,
    /// The config and every rule and script file, packed (see `rules::archive`); stored with draws.
    pub rules_archive: Vec<u8>,
}

impl Model {
    pub fn matters(&self) -> impl Iterator<Item = &Matter> {
        self.departments
            .iter()
            .flat_map(|d| d.matters.iter())
            .chain(self.joints.iter())
    }

    /// The matters in force: every matter but the retired ones (what the plan lists and the
    /// scheduler draws).
    pub fn matters_in_force(&self) -> impl Iterator<Item = &Matter> {
        self.matters().filter(|m| !m.retired)
    }

    /// The model as the plan describes it: retired departments and matters left out.
    pub fn in_force(&self) -> Model {
        let mut m = self.clone();
        m.departments.retain(|d| !d.retired);
        for d in &mut m.departments {
            d.matters.retain(|x| !x.retired);
        }
        m.departments.retain(|d| !d.matters.is_empty());
        m.joints.retain(|j| !j.retired);
        m
    }

    pub fn matter(&self, id: &str) -> Option<&Matter> {
        self.matters().find(|m| m.id == id)
    }

    pub fn department(&self, id: &str) -> Option<&Department> {
        self.departments.iter().find(|d| d.id == id)
    }

    /// Where the seeds of matter `id`'s draws come from: the matter's own `[seed]` where it
    /// has one, else the config's.
    pub fn seed_source(&self, id: &str) -> &SeedSourceConfig {
        self.matter(id)
            .and_then(|m| m.seed_source.as_ref())
            .unwrap_or(&self.config.seed_source)
    }

    /// Whether matter `id`'s seeds come from committed public sources
    /// (`source = "public"`): its draws, redraws included, wait for a commitment's value.
    pub fn public_seeds(&self, id: &str) -> bool {
        matches!(self.seed_source(id), SeedSourceConfig::Public(_))
    }
}

/// `config/suiji.toml`, validated. Relative paths are resolved against the config file's folder's parent
/// (the project root), so `suiji` works from any working directory.
#[derive(Debug, Clone)]
pub struct Config {
    /// `[draw] algorithm`: the algorithm of new draws (and so the manifest and rules archive
    /// formats); [`Algorithm::LATEST`] unless the config names another.
    pub algorithm: Algorithm,
    pub path: PathBuf,
    pub root: PathBuf,
    pub bureau: Bureau,
    pub timezone: chrono_tz::Tz,
    pub rules_dir: PathBuf,
    pub data_dir: PathBuf,
    pub output_dir: PathBuf,
    pub holidays_dir: PathBuf,
    /// Allow a provisional calendar (computed from lunar dates) for years without official data.
    pub provisional_calendar: bool,
    pub registries: Registries,
    pub limits: ScriptLimits,
    /// Target fields that may appear on public notices.
    pub public_fields: Vec<String>,
    /// `[publication] frame_fields`: the public fields a draw's public bundle repeats for every
    /// target drawn from (docs/draw-algorithm.md V2-9.1); `public_fields` when not given.
    pub frame_fields: Vec<String>,
    /// `[publication] site_url`: the address the public site is published at, ending in `/`
    /// (the feeds' links are absolute under it); `None`: the feeds link relatively.
    pub site_url: Option<String>,
    /// Target categories (registry `category` values) that rules may name.
    pub categories: BTreeMap<String, String>,
    /// Inspector qualifications that rules may require.
    pub qualifications: BTreeMap<String, String>,
    /// Default seed source for scheduled draws.
    pub seed_source: SeedSourceConfig,
    /// Fixed texts of the plan document.
    pub plan: PlanText,
    /// Read ratios written as bare numbers (`0.05`) as fractions, as rule sets archived
    /// before the `%` form was required did; only when re-running archived draws.
    pub legacy_ratios: bool,
    /// `[rules]`: who must approve a change to the rule set before draws use it.
    pub approval: Approval,
    /// The folder rule file names are shown relative to (the project folder; a staged copy's
    /// folder when a proposed rule set is checked).
    pub shown_root: PathBuf,
    /// `[web] trusted_proxies`: the reverse proxies in front of the console whose
    /// `X-Forwarded-For` header names the client (empty: the header is never believed).
    pub trusted_proxies: Vec<TrustedProxy>,
    /// `[database] url`: the PostgreSQL database of a shared deployment; `None` keeps the
    /// SQLite file in `data_dir`.
    pub database_url: Option<String>,
    /// `[database] schema`: the bureau's own schema in the PostgreSQL database (a shared
    /// deployment's bureaus each have one); `None` keeps `public`. Nothing on the SQLite file.
    pub database_schema: Option<String>,
}

/// An address or network whose requests come from a trusted reverse proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxy {
    pub addr: std::net::IpAddr,
    /// Leading bits that must match (32 or 128 for one address).
    pub prefix: u8,
}

impl TrustedProxy {
    /// `127.0.0.1`, `::1`, `10.0.0.0/8`, `fd00::/8`; `None` for anything else.
    pub fn parse(text: &str) -> Option<TrustedProxy> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text.trim(), None),
        };
        let addr: std::net::IpAddr = addr.parse().ok()?;
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= bits)?,
            None => bits,
        };
        Some(TrustedProxy { addr, prefix })
    }

    /// Whether `ip` is this address or in this network (an IPv4 address given as IPv6,
    /// `::ffff:a.b.c.d`, counts as the IPv4 one).
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let (a, b, bits) = match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                (u128::from(u32::from(a)), u128::from(u32::from(b)), 32)
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
            _ => return false,
        };
        let shift = bits - u32::from(self.prefix);
        shift >= bits || (a >> shift) == (b >> shift)
    }
}

/// `[rules] approval`: whether a change to the rule set (rule files, scripts, holiday files,
/// this config) needs a second person's approval before draws use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Approval {
    /// `"two-person"` (true, the shipped setting) or `"none"` (false: the files on disk are
    /// used as they are saved).
    pub required: bool,
    /// `self_approval = true`: a one-person office, where the author of a change may approve
    /// it (recorded as such).
    pub self_approval: bool,
}

impl Default for Approval {
    /// Without a `[rules]` table a project keeps using its files as saved, as before approval
    /// existed.
    fn default() -> Approval {
        Approval {
            required: false,
            self_approval: false,
        }
    }
}

/// `suiji-draw/1`'s version string, hashed into every key of its draws.
pub const ALGORITHM_V1: &str = "suiji-draw/1";
/// `suiji-draw/2`'s version string.
pub const ALGORITHM_V2: &str = "suiji-draw/2";

/// The draw algorithm a draw is made (or re-made) with. New draws use the config's (by default
/// the latest); a recorded draw is re-run with the one its manifest names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `suiji-draw/1`, with `suiji-manifest/1` and `suiji-rules/1`: teams stratum by stratum,
    /// every inspector ranked for every target.
    V1,
    /// `suiji-draw/2`, with `suiji-manifest/2` and `suiji-rules/2`: random staffing order,
    /// teams by a lazy keyed permutation, teams covering qualifications together, exact 回避.
    V2,
}

impl Algorithm {
    /// The latest algorithm (`[draw] algorithm` selects it for a project's new draws).
    pub const LATEST: Algorithm = Algorithm::V2;

    /// The version string hashed into every key and recorded in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::V1 => ALGORITHM_V1,
            Algorithm::V2 => ALGORITHM_V2,
        }
    }

    /// The algorithm a manifest or config names, if this suiji implements it.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        [Algorithm::V1, Algorithm::V2]
            .into_iter()
            .find(|a| a.name() == name)
    }
}

#[derive(Debug, Clone)]
pub struct Bureau {
    pub name: String,
    pub region: String,
    pub code: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Registries {
    pub targets: Vec<PathBuf>,
    pub inspectors: Vec<PathBuf>,
}

#[derive(Debug, Clone)]
pub enum SeedSourceConfig {
    /// The operating system's random source.
    Os,
    /// A file whose contents become the seed: whoever writes the file chooses the seed, so it
    /// is refused on a database of real records (`jobs::refuse_seed_file`) and serves only
    /// simulation databases. `at` is where the config says so (`source = "file"`).
    File {
        path: PathBuf,
        at: crate::diag::Location,
    },
    /// No seed of the bureau's own: every scheduled draw waits for a public source committed
    /// to before its value exists, and its announced value (`suiji commit`, `draw --reveal`).
    /// With a [`PublicSource`] the service commits to it by itself, ahead of each draw, and
    /// draws once its fetcher obtains the value.
    Public(Option<Box<PublicSource>>),
}

/// A public source named in `[seed]` that the service commits to by itself: one value a day
/// (a lottery's daily result, a beacon's value at a fixed time of day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicSource {
    /// The name of one day's value; `{date}` stands for that day (`YYYY-MM-DD`).
    pub name: String,
    /// When a day's value is announced, in the bureau's time zone.
    pub announce: chrono::NaiveTime,
    /// How many days before a draw's issue date its commitment is made.
    pub commit_days: u32,
    /// How the service obtains an announced value; `None`: the operator enters it.
    pub fetch: Option<Fetch>,
    /// How long one fetch may take (`fetch_timeout_secs`): a command still running then is
    /// killed, an address that has not answered is given up; the draw keeps waiting.
    pub fetch_timeout: std::time::Duration,
}

/// How long a fetch may take when `fetch_timeout_secs` is not given.
pub const DEFAULT_FETCH_TIMEOUT_SECS: u64 = 60;

/// How an announced value is obtained: the body of an HTTP answer, or a command's output
/// (trimmed); `{date}` in either stands for the value's day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetch {
    /// An `http://` address (fetched by suiji itself).
    Url(String),
    /// A program and its arguments (e.g. `curl -fsS https://…`), run without a shell.
    Command(Vec<String>),
}

impl PublicSource {
    /// The name of the value announced on `day`.
    pub fn name_of(&self, day: chrono::NaiveDate) -> String {
        self.name
            .replace("{date}", &day.format("%Y-%m-%d").to_string())
    }
}

#[derive(Debug, Clone)]
pub struct Department {
    pub id: String,
    pub name: String,
    pub file: PathBuf,
    /// Position in the plan document (then by id).
    pub order: i64,
    /// The plan's 抽查任务/抽查对象 paragraph.
    pub summary: Option<String>,
    /// The plan's 抽查比例和频次 paragraph, as written.
    pub frequency_note: Option<String>,
    /// The plan's 抽查结果公示 paragraph.
    pub publication_note: Option<String>,
    /// Retired (`[department] retired = true`): every matter of it is retired.
    pub retired: bool,
    pub matters: Vec<Matter>,
}

/// A sampling ratio as parts per million (rule files write it as a percentage, "5%").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ratio(u32);

impl Ratio {
    pub const FULL: Ratio = Ratio(1_000_000);

    /// `None` unless 0 < ppm ≤ 1 000 000.
    pub fn from_ppm(ppm: u32) -> Option<Ratio> {
        (ppm > 0 && ppm <= 1_000_000).then_some(Ratio(ppm))
    }

    pub fn ppm(self) -> u32 {
        self.0
    }

    pub fn is_full(self) -> bool {
        self.0 == 1_000_000
    }

    /// Targets to draw from `n` eligible: ⌈ratio × n⌉ ("at least" rounds up), so a non-empty
    /// population always yields at least one.
    pub fn sample_size(self, n: usize) -> usize {
        let n = n as u128;
        (n * u128::from(self.0)).div_ceil(1_000_000) as usize
    }

    /// ⌊ratio × n⌋: the most a cap of this ratio allows (an upper bound rounds down).
    pub fn floor_size(self, n: usize) -> usize {
        let n = n as u128;
        (n * u128::from(self.0) / 1_000_000) as usize
    }

    /// The sum of two ratios, capped at 100% (a holiday window's raised ratio).
    pub fn saturating_add(self, other: Ratio) -> Ratio {
        Ratio((self.0 + other.0).min(1_000_000))
    }

    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 1_000_000.0
    }
}

impl std::fmt::Display for Ratio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pct = f64::from(self.0) / 10_000.0;
        if self.0.is_multiple_of(10_000) {
            write!(f, "{}%", self.0 / 10_000)
        } else {
            write!(f, "{pct}%")
        }
    }
}

/// A class's share of a draw (`class_ratios`): at least `ratio` ("5%", rounded up), and, with a
/// `cap`, never more than the cap (rounded down). An upper bound "≤ 5%" is a share whose ratio
/// and cap are both 5% (k = ⌊5% × n⌋); a band "5%–20%" draws ⌈5% × n⌉, but never more than
/// ⌊20% × n⌋ (docs/draw-algorithm.md V2-11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Share {
    pub ratio: Ratio,
    pub cap: Option<Ratio>,
}

impl Share {
    /// "At least `ratio`": the share of a plain percentage.
    pub fn at_least(ratio: Ratio) -> Share {
        Share { ratio, cap: None }
    }

    /// Targets to draw from `n` eligible: ⌈ratio × n⌉, then at most ⌊cap × n⌋ (which may be 0).
    pub fn sample_size(self, n: usize) -> usize {
        let k = self.ratio.sample_size(n);
        match self.cap {
            Some(cap) => k.min(cap.floor_size(n)),
            None => k,
        }
    }

    /// The largest ratio the share can draw at (its cap, else its ratio).
    pub fn most(self) -> Ratio {
        self.cap.map_or(self.ratio, |c| c.max(self.ratio))
    }

    /// The share as the plan prints it: `5%`, `不超过 5%`, `5%–20%`.
    pub fn label_zh(self) -> String {
        match self.cap {
            None => self.ratio.to_string(),
            Some(c) if c == self.ratio => format!("不超过 {c}"),
            Some(c) => format!("{}–{c}", self.ratio),
        }
    }
}

impl std::fmt::Display for Share {
    /// As rule files write it: `5%`, `≤ 5%`, `5%–20%`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.cap {
            None => write!(f, "{}", self.ratio),
            Some(c) if c == self.ratio => write!(f, "≤ {c}"),
            Some(c) => write!(f, "{}–{c}", self.ratio),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeriodKind {
    Year,
    Half,
    Quarter,
    Month,
}

#[derive(Debug, Clone)]
pub enum Frequency {
    Yearly,
    HalfYearly,
    Quarterly,
    Monthly,
    /// A cron expression (6 or 7 fields, seconds first), in the bureau's time zone.
    Cron {
        expr: String,
        schedule: Arc<cron::Schedule>,
    },
}

impl Frequency {
    pub fn label_zh(&self) -> String {
        match self {
            Frequency::Yearly => "每年 1 次".into(),
            Frequency::HalfYearly => "每半年 1 次".into(),
            Frequency::Quarterly => "每季度 1 次".into(),
            Frequency::Monthly => "每月 1 次".into(),
            Frequency::Cron { schedule, .. } => crate::rules::cron_zh::describe(schedule),
        }
    }
}

/// How often one class of a matter is drawn (`class_frequency`, 分类频次): a class of credit A
/// every two years, of D every quarter. The matter's draws come at its own `frequency`; a class
/// is drawn only by the draws that open one of its cycles (docs/draw-algorithm.md V2-14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClassFrequency {
    /// Every two years, cycles starting in even years (2024–2025, 2026–2027, …) unless the
    /// matter's `biennial_start` names another first year.
    Biennial,
    Yearly,
    HalfYearly,
    Quarterly,
    Monthly,
}

impl ClassFrequency {
    /// The words rule files write.
    pub const NAMES: &'static [&'static str] =
        &["biennial", "yearly", "half-yearly", "quarterly", "monthly"];

    pub fn parse(s: &str) -> Option<ClassFrequency> {
        Some(match s {
            "biennial" => ClassFrequency::Biennial,
            "yearly" => ClassFrequency::Yearly,
            "half-yearly" => ClassFrequency::HalfYearly,
            "quarterly" => ClassFrequency::Quarterly,
            "monthly" => ClassFrequency::Monthly,
            _ => return None,
        })
    }

    /// As rule files write it.
    pub fn id(self) -> &'static str {
        match self {
            ClassFrequency::Biennial => "biennial",
            ClassFrequency::Yearly => "yearly",
            ClassFrequency::HalfYearly => "half-yearly",
            ClassFrequency::Quarterly => "quarterly",
            ClassFrequency::Monthly => "monthly",
        }
    }

    /// In Chinese, as the plan words it without the years of a two-year cycle (which
    /// `biennial_start` sets): 每两年 1 次, 每年 1 次, 每半年 1 次, 每季度 1 次, 每月 1 次. The
    /// console's forms show a rule file's word so.
    pub fn words_zh(self) -> &'static str {
        match self {
            ClassFrequency::Biennial => "每两年 1 次",
            ClassFrequency::Yearly => "每年 1 次",
            ClassFrequency::HalfYearly => "每半年 1 次",
            ClassFrequency::Quarterly => "每季度 1 次",
            ClassFrequency::Monthly => "每月 1 次",
        }
    }

    /// A frequency as staff type it in a form: the words of [`ClassFrequency::words_zh`]
    /// (spaces, `1 次` and the years the plan adds in brackets after 每两年 1 次 may be left
    /// out), or the word a rule file writes.
    pub fn from_zh(text: &str) -> Option<ClassFrequency> {
        let bare: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let bare = bare.split(['（', '(']).next().unwrap_or_default();
        let bare = bare.strip_suffix("1次").unwrap_or(bare);
        Some(match bare {
            "每两年" => ClassFrequency::Biennial,
            "每年" => ClassFrequency::Yearly,
            "每半年" => ClassFrequency::HalfYearly,
            "每季度" => ClassFrequency::Quarterly,
            "每月" => ClassFrequency::Monthly,
            _ => return ClassFrequency::parse(text.trim()),
        })
    }

    /// The length of one cycle in months.
    pub fn months(self) -> u32 {
        match self {
            ClassFrequency::Biennial => 24,
            ClassFrequency::Yearly => 12,
            ClassFrequency::HalfYearly => 6,
            ClassFrequency::Quarterly => 3,
            ClassFrequency::Monthly => 1,
        }
    }

    /// As the plan prints it; a two-year cycle names the years it is due in: "每两年 1 次
    /// （偶数年）" by default, "每两年 1 次（奇数年：2025、2027、2029…）" with
    /// `biennial_start = 2025`.
    pub fn label_zh(self, biennial_start: Option<i32>) -> String {
        match (self, biennial_start) {
            (ClassFrequency::Biennial, None) => format!("{}（偶数年）", self.words_zh()),
            (ClassFrequency::Biennial, Some(y)) => {
                let parity = if y.rem_euclid(2) == 0 {
                    "偶数"
                } else {
                    "奇数"
                };
                format!(
                    "{}（{parity}年：{y}、{}、{}…）",
                    self.words_zh(),
                    y.saturating_add(2),
                    y.saturating_add(4)
                )
            }
            (other, _) => other.words_zh().into(),
        }
    }

    /// Whether a period starting on `start` opens one of this frequency's cycles. Cycles are
    /// counted in months from January of `biennial_start` (the matter's first year of a two-year
    /// cycle; by default year 0, so a two-year cycle starts in January of an even year), so a
    /// yearly one starts in January, a half-yearly one in January and July, and so on — only a
    /// two-year cycle depends on the first year.
    pub fn opens_cycle(self, start: chrono::NaiveDate, biennial_start: Option<i32>) -> bool {
        use chrono::Datelike;
        let first = i64::from(biennial_start.unwrap_or(0));
        let month = (i64::from(start.year()) - first) * 12 + i64::from(start.month0());
        start.day() == 1 && month.rem_euclid(i64::from(self.months())) == 0
    }
}

impl Frequency {
    /// The length of a period in months (`None` for a cron, whose periods are its fire times).
    pub fn months(&self) -> Option<u32> {
        match self {
            Frequency::Yearly => Some(12),
            Frequency::HalfYearly => Some(6),
            Frequency::Quarterly => Some(3),
            Frequency::Monthly => Some(1),
            Frequency::Cron { .. } => None,
        }
    }
}

/// When in its period a draw is issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueAt {
    /// The n-th working day of the period (1 = first).
    WorkingDay(u32),
    /// Calendar day n of the period's first month, moved forward to a working day.
    Day(u32),
}

/// Extra draws before major holidays (重大节假日加强抽查).
#[derive(Debug, Clone)]
pub struct HolidayRule {
    pub holidays: Vec<Holiday>,
    /// Issue the draw this many days before the holiday's first day off.
    pub days_before: u32,
    /// Count `days_before` in working days instead of calendar days.
    pub working_days: bool,
    /// The window's ratio (of the matter's scope, or of key areas when `key_area_only`).
    pub ratio: Ratio,
    /// Restrict the holiday draw to targets flagged as in a key area (重点区域).
    pub key_area_only: bool,
    /// Due date: working days after issue.
    pub due_working_days: u32,
}

/// What to do with a draw whose issue date passed while the service was down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUp {
    /// Issue it at start-up.
    Issue,
    /// Issue it only if no more than `grace_days` late; otherwise skip it (logged and audited).
    Skip { grace_days: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecklistItem {
    /// Stable id, e.g. "hotel-01"; results refer to it.
    pub id: String,
    /// Optional heading the item sits under in the plan (e.g. who the item concerns).
    pub group: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Publication {
    pub channel: String,
    pub deadline_working_days: u32,
}

#[derive(Debug, Clone)]
pub struct Matter {
    /// "department.matter", e.g. "zhian.hotel".
    pub id: String,
    pub department: String,
    pub name: String,
    pub legal_basis: Vec<String>,
    /// Registry categories in scope.
    pub categories: Vec<String>,
    /// Human-readable scope (抽查对象) as the plan states it.
    pub scope_text: String,
    pub ratio: Ratio,
    /// Target field holding the class used by `class_ratios` (e.g. "risk").
    pub class_field: Option<String>,
    pub class_ratios: BTreeMap<String, Share>,
    /// `class_frequency`: how often each class listed is drawn (分类频次); a class not listed
    /// (and a target without a class) is drawn at every draw of the matter's `frequency`.
    pub class_frequency: BTreeMap<String, ClassFrequency>,
    /// `biennial_start` (两年周期起始年): the first year of a `biennial` class's two-year cycles
    /// (2025: due in 2025, 2027, …); `None`: even years (docs/draw-algorithm.md V2-14).
    pub biennial_start: Option<i32>,
    /// Target field to stratify by (e.g. "district"); `None` = one stratum.
    pub stratify_by: Option<String>,
    pub frequency: Frequency,
    pub issue_at: IssueAt,
    /// Working days from issue to the due date of the inspections.
    pub due_working_days: u32,
    pub holiday: Option<HolidayRule>,
    pub team_size: u32,
    pub qualifications: Vec<String>,
    /// Most targets one inspector gets per period.
    pub workload_cap: u32,
    /// No re-inspection within this many months of a clean result.
    pub cooldown_months: Option<u32>,
    /// At most this many inspections per target per year (all matters).
    pub yearly_cap: Option<u32>,
    pub checklist: Vec<ChecklistItem>,
    pub publication: Publication,
    pub catch_up: CatchUp,
    pub eligible: Option<Hook>,
    pub weight: Option<Hook>,
    pub conflict: Option<Hook>,
    /// The `class` hook: the class `class_ratios` reads, computed from the target (分类钩子),
    /// in place of a registry column.
    pub class_hook: Option<Hook>,
    /// Policy note (how an ambiguity of the source plan was resolved).
    pub note: Option<String>,
    /// What a cron draw falling on a weekend or holiday does.
    pub on_holiday: OnHoliday,
    /// Where the matter's settings were written, for problems found after loading.
    pub places: Places,
    /// A joint plan (联合抽查, `[[joint]]`): the matters its visits check; `None` for a
    /// department's own matter.
    pub joint: Option<Joint>,
    /// Retired (`retired = true`, or its department retired): no longer in the plan or the
    /// schedule and never drawn again; its draws, results and history stay, and its id stays
    /// taken.
    pub retired: bool,
    /// The matter's own `[seed]`, in place of the config's; `None`: the config's.
    pub seed_source: Option<SeedSourceConfig>,
}

/// What makes a matter a joint plan: one visit per drawn target checks every member matter
/// (进一次门、查多项事), by one team from all the departments involved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joint {
    /// The member matters' ids, in the order written.
    pub members: Vec<String>,
    /// The departments of the members, the lead (牵头部门, the matter's `department`) first,
    /// then in the order their matters are written; each once.
    pub departments: Vec<String>,
    /// The qualifications the team holds together: every member's `qualifications`, in
    /// order, each once.
    pub cover: Vec<String>,
}

/// What a cron draw whose fire time falls on a day off does (`on_holiday`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnHoliday {
    /// Move it to 09:00 of the next working day, and count its due date from there.
    #[default]
    NextWorkingDay,
    /// Issue it at its fire time anyway.
    Keep,
}

/// Where in its rule file (or its department's `[defaults]`) each setting of a matter was
/// written; `None` when the setting was not written.
#[derive(Debug, Clone, Default)]
pub struct Places {
    /// The rule file (an index into the loaded sources).
    pub file: usize,
    /// The matter's `id` value.
    pub id: std::ops::Range<usize>,
    pub categories: Option<std::ops::Range<usize>>,
    pub class_field: Option<std::ops::Range<usize>>,
    /// Each key of `class_ratios`.
    pub class_ratios: Vec<(String, std::ops::Range<usize>)>,
    /// Each key of `class_frequency`.
    pub class_frequency: Vec<(String, std::ops::Range<usize>)>,
    pub stratify_by: Option<std::ops::Range<usize>>,
    /// `frequency` or `cron`.
    pub frequency: Option<std::ops::Range<usize>>,
    pub issue: Option<std::ops::Range<usize>>,
}

impl crate::registry::Known {
    /// The categories and qualifications of `config/suiji.toml` and the departments of the rules.
    pub fn from_model(model: &Model) -> Self {
        Self {
            categories: model.config.categories.keys().cloned().collect(),
            qualifications: model.config.qualifications.keys().cloned().collect(),
            departments: model.departments.iter().map(|d| d.id.clone()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_size_rounds_up() {
        let five = Ratio::from_ppm(50_000).expect("valid");
        assert_eq!(five.sample_size(0), 0);
        assert_eq!(five.sample_size(1), 1);
        assert_eq!(five.sample_size(20), 1);
        assert_eq!(five.sample_size(21), 2);
        assert_eq!(five.sample_size(300), 15);
        assert_eq!(Ratio::FULL.sample_size(7), 7);
        assert_eq!(five.to_string(), "5%");
        assert_eq!(
            Ratio::from_ppm(25_000).map(|r| r.to_string()),
            Some("2.5%".into())
        );
        assert!(Ratio::from_ppm(0).is_none());
        assert!(Ratio::from_ppm(1_000_001).is_none());
    }
}

/// The plan document's fixed texts.
#[derive(Debug, Clone, Default)]
pub struct PlanText {
    /// May contain `{bureau}` and `{year}`.
    pub title: Option<String>,
    pub preamble: Option<String>,
    pub principles: Option<String>,
}
