//! A registry file as a row source: one pass over the file in parallel (`profile`: every row
//! reduced to a group of rows treated alike, the hooks run once per distinct input), then the
//! threads' groups merged. Reading and tokenising the file is `registry::source`'s.

pub(super) mod profile;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use super::rows::{Batch, Classified, Group, NONE, OnRows, ROWS_TOLD, RowSource};
use super::rules::{Answer, Rules};
use super::{DrawFailure, Options};
use crate::draw::Ranker;
use crate::registry::Known;
use crate::registry::canonical::{CellRows, LineCells};
use crate::registry::read::{Header, t as col};
use crate::registry::source::IdName;
use crate::registry::source::{RegistryFile, trim_bytes};
use crate::registry::types::{Target, TargetStatus};
use crate::registry::values::{parse_bool, parse_date, parse_status};
use crate::rules::model::Share;

use profile::{Context, KeySpec, Oracle, Pass1, Raw, Src};

/// A target registry file (one UTF-8 CSV).
pub(crate) struct FileSource<'a> {
    file: RegistryFile<'a>,
    threads: usize,
}

impl<'a> FileSource<'a> {
    /// Whether the file has an extra column headed `header`.
    pub(crate) fn has_extra(&self, header: &str) -> bool {
        self.file.header.extras.iter().any(|(_, h)| h == header)
    }

    pub(crate) fn open(
        path: &'a Path,
        known: &'a Known,
        opts: &Options<'_>,
    ) -> Result<FileSource<'a>, DrawFailure> {
        Ok(FileSource {
            file: RegistryFile::open(path, known, opts.chunk_bytes)?,
            threads: opts.threads.max(1),
        })
    }

    /// What the pass reads, and how it checks each column.
    fn context<'r>(&self, rules: &'r Rules<'r>, keys: &Keys) -> Context<'r> {
        let d = rules.input;
        let m = rules.matter;
        let h = &self.file.header;
        let column = |i: usize| self.file.column(i);
        let mut kinds = vec![profile::Kind::Text; h.names.len()];
        let kind_of = [
            (col::CATEGORY, profile::Kind::Category),
            (col::KEY_AREA, profile::Kind::KeyArea),
            (col::STATUS, profile::Kind::Status),
            (col::LAST_INSPECTED, profile::Kind::LastInspected),
            (col::LAST_RESULT, profile::Kind::LastResult),
        ];
        for (f, k) in kind_of {
            if let Some(c) = column(f) {
                kinds[c] = k;
            }
        }
        let mut cx = Context {
            width: h.names.len(),
            id_col: column(col::ID).unwrap_or(0),
            category_col: column(col::CATEGORY).unwrap_or(0),
            status_col: column(col::STATUS),
            key_area_col: column(col::KEY_AREA).filter(|_| d.key_area_only),
            cooldown: m
                .cooldown_months
                .filter(|&n| n > 0)
                .map(|n| (column(col::LAST_INSPECTED), column(col::LAST_RESULT), n)),
            reference: d.reference_date,
            yearly_cap: m.yearly_cap,
            history: d.history.places(),
            extras: h.extras.iter().map(|(c, _)| *c).collect(),
            stratum: keys.stratum.spec.clone(),
            eligible: keys.eligible.as_ref().map(|k| k.spec.clone()),
            weight: keys.weight.as_ref().map(|k| k.spec.clone()),
            categories: m.categories.clone(),
            known_categories: self.file.known().categories.clone(),
            kinds,
            track_all: rules.use_classes,
            scopes_classes: rules.scopes_classes(),
            list_up_to: rules.list_up_to,
            cooldown_from: None,
            capture_below: {
                let most = m
                    .class_ratios
                    .values()
                    .filter(|_| rules.use_classes)
                    .fold(d.ratio.as_f64(), |a, r| a.max(r.most().as_f64()));
                (3.0 * most).min(1.0)
            },
            weighted: m.weight.is_some(),
            name_col: column(col::NAME).unwrap_or(0),
        };
        if let Some((Some(date_col), _, months)) = cx.cooldown {
            let read_elsewhere = [Some(&cx.stratum), cx.eligible.as_ref(), cx.weight.as_ref()]
                .into_iter()
                .flatten()
                .any(|k| k.sources.contains(&Src::Col(date_col)));
            if !read_elsewhere {
                cx.cooldown_from = Some(profile::cooldown_cutoff(months, d.reference_date));
            }
        }
        cx
    }
}

/// The fields each input (stratum, eligible hook, weight hook) reads.
struct Keys {
    stratum: KeyFields,
    eligible: Option<KeyFields>,
    weight: Option<KeyFields>,
}

impl Keys {
    fn new(rules: &Rules<'_>, h: &Header) -> Keys {
        let m = rules.matter;
        let hook_fields = |hook: &crate::script::Hook| -> Vec<Field> {
            match &hook.reads {
                Some(reads) => reads.iter().map(|f| Field::memo(f)).collect(),
                None => Field::all(),
            }
        };
        let class_fields = match &m.class_hook {
            Some(hook) if rules.hooked_classes() => hook_fields(hook),
            _ if rules.use_classes => vec![Field::of_column(&rules.class)],
            _ => Vec::new(),
        };
        let stratum_fields: Vec<Field> = rules
            .stratify
            .iter()
            .map(Field::of_column)
            .chain(class_fields)
            .collect();
        Keys {
            stratum: KeyFields::new(stratum_fields, h),
            eligible: m
                .eligible
                .as_ref()
                .map(|k| KeyFields::new(hook_fields(k), h)),
            weight: m.weight.as_ref().map(|k| KeyFields::new(hook_fields(k), h)),
        }
    }
}

impl RowSource for FileSource<'_> {
    fn classify(
        &self,
        rules: &Rules<'_>,
        on_rows: Option<&OnRows<'_>>,
    ) -> Result<Classified, DrawFailure> {
        if rules.input.key_area_only && self.file.column(col::KEY_AREA).is_none() {
            // No key-area column: nobody is in a key area, so a key-area draw has no scope.
            return Ok(Classified::default());
        }
        let keys = Keys::new(rules, &self.file.header);
        let cx = self.context(rules, &keys);
        let asker = Asker {
            rules,
            builder: Builder {
                header: &self.file.header,
                known: self.file.known(),
            },
            stratum: &keys.stratum.fields,
            eligible: keys.eligible.as_ref().map_or(&[], |k| &k.fields[..]),
            weight: keys.weight.as_ref().map_or(&[], |k| &k.fields[..]),
            classes: std::sync::Mutex::new(HashMap::new()),
        };
        let rows_hint = |start: u64, stop: u64| usize::try_from((stop - start) / 24).unwrap_or(0);
        let told = AtomicU64::new(0);
        let pass1 = self.file.scan(
            self.threads,
            &|start, stop| Pass1::new(&cx, start, rows_hint(start, stop) + 1024),
            &|p, r| {
                p.row(r, &cx, &asker);
                if p.rows % ROWS_TOLD == 0
                    && let Some(tell) = on_rows
                {
                    tell(told.fetch_add(ROWS_TOLD, Ordering::Relaxed) + ROWS_TOLD);
                }
            },
        )?;
        let flagged: Vec<u64> = pass1
            .iter()
            .flat_map(|p| p.flagged.iter().copied())
            .collect();
        let encoding: Vec<u64> = pass1
            .iter()
            .flat_map(|p| p.encoding.iter().copied())
            .collect();
        if !flagged.is_empty() || !encoding.is_empty() {
            return Err(self.file.problems(flagged, encoding).into());
        }
        let (mut c, stratum_keys) = merge(pass1, &cx, &keys, &asker);
        class_failure(&mut c, &stratum_keys, &asker)?;
        Ok(c)
    }

    fn id_names(&self, positions: &[u64]) -> Result<Vec<IdName>, DrawFailure> {
        let cols = (
            self.file.column(col::ID).unwrap_or(0),
            self.file.column(col::NAME).unwrap_or(0),
        );
        Ok(self.file.cells_at(positions, cols, self.threads)?)
    }

    fn targets(&self, positions: &[u64]) -> Result<Vec<Cow<'_, Target>>, DrawFailure> {
        let rows = self.file.targets_at(positions)?;
        Ok(rows.into_iter().map(Cow::Owned).collect())
    }

    fn each_line(
        &self,
        positions: &[u64],
        each: &mut dyn FnMut(&LineCells<'_>),
    ) -> Result<(), DrawFailure> {
        Ok(self.file.lines_at(positions, each)?)
    }

    fn each_checked(
        &self,
        positions: &[u64],
        wanted: &[usize],
        each: &mut dyn FnMut(&LineCells<'_>),
    ) -> Result<(), DrawFailure> {
        Ok(self.file.checked_lines_at(positions, wanted, each)?)
    }

    fn public_cells(
        &self,
        positions: &[u64],
        fields: &[String],
        out: &mut CellRows,
    ) -> Result<(), DrawFailure> {
        Ok(self.file.public_cells_at(positions, fields, out)?)
    }

    fn raw_cells(&self) -> bool {
        true
    }

    fn problems(&self, flagged: Vec<u64>, encoding: Vec<u64>, changed: bool) -> DrawFailure {
        if changed {
            return self.file.changed().into();
        }
        self.file.problems(flagged, encoding).into()
    }
}

/// The threads' results as one classification, and the input of each of its strata.
fn merge(
    pass1: Vec<Pass1>,
    cx: &Context,
    keys: &Keys,
    asker: &Asker<'_>,
) -> (Classified, Vec<Vec<Raw>>) {
    let mut g = Merged::default();
    for p in &pass1 {
        g.add(p, cx, keys.eligible.as_ref(), keys.weight.as_ref());
    }
    let mut history_used: Vec<u32> = pass1
        .iter()
        .flat_map(|p| p.history_used.iter().copied())
        .collect();
    history_used.sort_unstable();
    history_used.dedup();
    let threads = pass1.len();
    let rows = pass1.iter().map(|p| p.rows).sum();
    let hook_calls = pass1.iter().map(|p| p.hook_calls).sum();
    let operations = pass1.iter().map(|p| p.operations).sum();
    let strata = g
        .stratum_keys
        .iter()
        .map(|k| asker.stratum_name(k))
        .collect();
    let batches = pass1
        .into_iter()
        .zip(std::mem::take(&mut g.maps))
        .map(|(p, map)| Batch {
            base: p.base,
            drawn: p.drawn,
            map,
            captures: p.captures,
            capture_bytes: p.capture_bytes,
            excluded: p.excluded,
            excluded_cells: p.excluded_cells,
        })
        .collect();
    let c = Classified {
        groups: g.profiles,
        counts: g.counts,
        min_ids: g.min_ids,
        strata,
        eligible_answers: g.eligible_answers,
        weight_answers: g.weight_answers,
        batches,
        history_used,
        rows,
        hook_calls,
        threads,
        operations,
    };
    (c, std::mem::take(&mut g.stratum_keys))
}

/// A `class` hook's answer for one input and the operations its call used.
type ClassAnswer = (Answer<Option<String>>, u64);

/// The rules as the pass asks them, about a target built from a distinct input's raw values.
struct Asker<'a> {
    rules: &'a Rules<'a>,
    builder: Builder<'a>,
    stratum: &'a [Field],
    eligible: &'a [Field],
    weight: &'a [Field],
    /// The `class` hook's answers by stratum input (asked once per input, whichever thread
    /// meets it first), with the operations of the call.
    classes: std::sync::Mutex<HashMap<Vec<Raw>, ClassAnswer>>,
}

impl Asker<'_> {
    /// The name and ratio of the stratum whose input is `key` (a failing class hook's input
    /// gets the stratum without a class; [`class_failure`] fails the draw).
    fn stratum_name(&self, key: &[Raw]) -> (String, Share) {
        let t = self.builder.target(self.stratum, key);
        if !self.rules.hooked_classes() {
            return self.rules.stratum(&t);
        }
        match self.class_of(key).0 {
            Answer::Ok(class) => self.rules.stratum_of(&t, class),
            _ => self.rules.stratum_of(&t, None),
        }
    }

    /// The `class` hook's answer for the stratum input `key`, and its operations.
    fn class_of(&self, key: &[Raw]) -> ClassAnswer {
        let known = |m: &HashMap<_, ClassAnswer>| m.get(key).cloned();
        if let Some(a) = self.classes.lock().ok().and_then(|m| known(&m)) {
            return a;
        }
        let a = self
            .rules
            .class_answer(&self.builder.target(self.stratum, key));
        let answer = (a, crate::script::last_operations());
        if let Ok(mut m) = self.classes.lock() {
            return m.entry(key.to_vec()).or_insert(answer).clone();
        }
        answer
    }
}

/// With a `class` hook: adds its operations for every row in scope (as the rows in memory
/// count them) and fails the draw at the smallest id whose class the hook could not give.
fn class_failure(
    c: &mut Classified,
    keys: &[Vec<Raw>],
    asker: &Asker<'_>,
) -> Result<(), DrawFailure> {
    if !asker.rules.hooked_classes() {
        return Ok(());
    }
    let answers: Vec<ClassAnswer> = keys.iter().map(|k| asker.class_of(k)).collect();
    let mut first: Option<(&String, &Answer<Option<String>>)> = None;
    for (i, g) in c.groups.iter().enumerate() {
        let Some((answer, ops)) = answers.get(g.stratum as usize) else {
            continue;
        };
        c.operations += c.counts[i] * ops;
        if answer.failed()
            && let Some(id) = c.min_ids[i].as_ref()
            && first.is_none_or(|(f, _)| id < f)
        {
            first = Some((id, answer));
        }
    }
    c.hook_calls += answers.len() as u64;
    match first {
        Some((id, answer)) => Err(answer.failure(id)),
        None => Ok(()),
    }
}

impl Oracle for Asker<'_> {
    fn eligible(&self, key: &[Raw]) -> Answer<bool> {
        self.rules
            .eligible(&self.builder.target(self.eligible, key))
    }

    fn weight(&self, key: &[Raw]) -> Answer<f64> {
        self.rules.weight(&self.builder.target(self.weight, key))
    }

    fn stratum(&self, key: &[Raw]) -> Ranker {
        self.rules.ranker(&self.stratum_name(key).0)
    }

    fn class_due(&self, key: &[Raw]) -> bool {
        if !self.rules.scopes_classes() {
            return true;
        }
        let class = if self.rules.hooked_classes() {
            match self.class_of(key).0 {
                Answer::Ok(class) => class,
                // A failing hook fails the draw (`class_failure`), whatever its scope.
                _ => None,
            }
        } else {
            self.rules
                .column_class(&self.builder.target(self.stratum, key))
        };
        self.rules
            .class_due(class.as_deref().filter(|c| !c.is_empty()))
    }
}

/// A target field as hooks and strata see it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Field {
    Id,
    Name,
    Category,
    District,
    Address,
    KeyArea,
    Class,
    Licence,
    Status,
    LastInspected,
    LastResult,
    Extras,
    Extra(String),
}

impl Field {
    /// A field name as `stratum_value` reads it (other names are extra columns).
    fn stratum(name: &str) -> Field {
        match name {
            "district" => Field::District,
            "category" => Field::Category,
            "class" => Field::Class,
            "key_area" => Field::KeyArea,
            "status" => Field::Status,
            other => Field::Extra(other.to_string()),
        }
    }

    /// A field name as the hook memo reads it.
    /// The field of a column a rule names.
    fn of_column(c: &crate::registry::column::Column) -> Field {
        match c {
            crate::registry::column::Column::Field(_) => Field::memo(c.name()),
            crate::registry::column::Column::Extra(h) => Field::Extra(h.clone()),
        }
    }

    fn memo(name: &str) -> Field {
        match name {
            "id" => Field::Id,
            "name" => Field::Name,
            "address" => Field::Address,
            "licence" => Field::Licence,
            "last_inspected" => Field::LastInspected,
            "last_result" => Field::LastResult,
            "extra" => Field::Extras,
            other => Field::stratum(other),
        }
    }

    /// Every field (a hook that may read anything).
    fn all() -> Vec<Field> {
        vec![
            Field::Id,
            Field::Name,
            Field::Category,
            Field::District,
            Field::Address,
            Field::KeyArea,
            Field::Class,
            Field::Licence,
            Field::Status,
            Field::LastInspected,
            Field::LastResult,
            Field::Extras,
        ]
    }

    fn column(&self) -> Option<usize> {
        Some(match self {
            Field::Id => col::ID,
            Field::Name => col::NAME,
            Field::Category => col::CATEGORY,
            Field::District => col::DISTRICT,
            Field::Address => col::ADDRESS,
            Field::KeyArea => col::KEY_AREA,
            Field::Class => col::CLASS,
            Field::Licence => col::LICENCE,
            Field::Status => col::STATUS,
            Field::LastInspected => col::LAST_INSPECTED,
            Field::LastResult => col::LAST_RESULT,
            Field::Extras | Field::Extra(_) => return None,
        })
    }
}

/// One input key (stratum, eligible or weight) in field terms.
#[derive(Debug, Clone)]
struct KeyFields {
    fields: Vec<Field>,
    spec: KeySpec,
}

impl KeyFields {
    fn new(fields: Vec<Field>, header: &Header) -> KeyFields {
        let sources = fields.iter().map(|f| source(f, header)).collect();
        KeyFields {
            fields,
            spec: KeySpec { sources },
        }
    }
}

fn source(f: &Field, header: &Header) -> Src {
    match f {
        Field::Extras => Src::Extras,
        Field::Extra(name) => header
            .extras
            .iter()
            .find(|(_, h)| h == name)
            .map_or(Src::Missing, |(c, _)| Src::Col(*c)),
        known => known
            .column()
            .and_then(|i| header.cols.get(i).copied().flatten())
            .map_or(Src::Missing, Src::Col),
    }
}

/// The threads' profiles merged.
#[derive(Default)]
struct Merged {
    profiles: Vec<Group>,
    counts: Vec<u64>,
    min_ids: Vec<Option<String>>,
    index: HashMap<Group, u32>,
    eligible_keys: Vec<Vec<Raw>>,
    eligible_index: HashMap<Vec<Raw>, u32>,
    eligible_answers: Vec<Answer<bool>>,
    weight_keys: Vec<Vec<Raw>>,
    weight_index: HashMap<Vec<Raw>, u32>,
    weight_answers: Vec<Answer<f64>>,
    stratum_keys: Vec<Vec<Raw>>,
    stratum_index: HashMap<Vec<Raw>, u32>,
    /// Per thread: local profile → global profile.
    maps: Vec<Vec<u32>>,
}

fn intern(
    keys: &mut Vec<Vec<Raw>>,
    index: &mut HashMap<Vec<Raw>, u32>,
    key: Vec<Raw>,
) -> (u32, bool) {
    if let Some(&i) = index.get(&key) {
        return (i, false);
    }
    let i = keys.len() as u32;
    keys.push(key.clone());
    index.insert(key, i);
    (i, true)
}

impl Merged {
    fn add(
        &mut self,
        p: &Pass1,
        cx: &Context,
        eligible: Option<&KeyFields>,
        weight: Option<&KeyFields>,
    ) {
        let mut map = Vec::with_capacity(p.profile_list.len());
        for (i, local) in p.profile_list.iter().enumerate() {
            let s = p.raw_key(cx, &cx.stratum, local.stratum);
            let (s, _) = intern(&mut self.stratum_keys, &mut self.stratum_index, s);
            let e = match (eligible, p.eligible_answers.get(local.eligible as usize)) {
                (Some(kf), Some(Some(a))) if local.eligible != NONE => {
                    let k = p.raw_key(cx, &kf.spec, local.eligible);
                    let (e, new) = intern(&mut self.eligible_keys, &mut self.eligible_index, k);
                    if new {
                        self.eligible_answers.push(a.clone());
                    }
                    e
                }
                _ => NONE,
            };
            let w = match (weight, p.weight_answers.get(local.weight as usize)) {
                (Some(kf), Some(Some(a))) if local.weight != NONE => {
                    let k = p.raw_key(cx, &kf.spec, local.weight);
                    let (w, new) = intern(&mut self.weight_keys, &mut self.weight_index, k);
                    if new {
                        self.weight_answers.push(a.clone());
                    }
                    w
                }
                _ => NONE,
            };
            let gp = Group {
                reason: local.reason,
                eligible: e,
                stratum: s,
                weight: w,
            };
            let next = self.profiles.len() as u32;
            let id = *self.index.entry(gp).or_insert(next);
            if id == next {
                self.profiles.push(gp);
                self.counts.push(0);
                self.min_ids.push(None);
            }
            self.counts[id as usize] += p.counts[i];
            if let Some(mine) = &p.min_ids[i] {
                let slot = &mut self.min_ids[id as usize];
                if slot.as_ref().is_none_or(|m| mine < m) {
                    *slot = Some(mine.clone());
                }
            }
            map.push(id);
        }
        self.maps.push(map);
    }
}

/// Builds the target a hook or a stratum sees from the raw values of the fields it reads (the
/// other fields keep their defaults, which it does not read).
struct Builder<'a> {
    header: &'a Header,
    known: &'a Known,
}

impl Builder<'_> {
    fn target(&self, fields: &[Field], key: &[Raw]) -> Target {
        let mut t = Target {
            id: String::new(),
            name: String::new(),
            category: String::new(),
            district: String::new(),
            address: String::new(),
            key_area: false,
            class: None,
            licence: None,
            status: TargetStatus::Active,
            last_inspected: None,
            last_result: None,
            extra: BTreeMap::new(),
        };
        let text = |b: &[u8]| trim_bytes(b).unwrap_or_default().to_string();
        let opt = |b: &[u8]| Some(text(b)).filter(|s| !s.is_empty());
        for (f, raw) in fields.iter().zip(key) {
            let b: &[u8] = match raw {
                Raw::Cell(b) => b,
                Raw::Missing => &[],
                Raw::Extras(values) => {
                    for ((_, h), v) in self.header.extras.iter().zip(values.iter()) {
                        if let Some(v) = opt(v) {
                            t.extra.insert(h.clone(), v);
                        }
                    }
                    continue;
                }
            };
            match f {
                Field::Id => t.id = text(b),
                Field::Name => t.name = text(b),
                Field::Category => {
                    let c = text(b);
                    t.category = crate::registry::read::known_spelling(&c, &self.known.categories)
                        .unwrap_or(c);
                }
                Field::District => t.district = text(b),
                Field::Address => t.address = text(b),
                Field::KeyArea => t.key_area = parse_bool(&text(b)).unwrap_or(false),
                Field::Class => t.class = opt(b),
                Field::Licence => t.licence = opt(b),
                Field::Status => {
                    t.status = parse_status(&text(b)).unwrap_or(TargetStatus::Active);
                }
                Field::LastInspected => t.last_inspected = parse_date(&text(b)).ok(),
                Field::LastResult => t.last_result = opt(b),
                Field::Extras => {}
                Field::Extra(h) => {
                    if let Some(v) = opt(b) {
                        t.extra.insert(h.clone(), v);
                    }
                }
            }
        }
        t
    }
}
