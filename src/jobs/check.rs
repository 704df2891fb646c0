//! Checking the config, every rule file and every script (`suiji check`).

use crate::rules::Loaded;

/// The rules as loaded: what they hold.
#[derive(Debug, Clone)]
pub struct Checked {
    pub bureau: String,
    /// Departments in order: id, name and matter ids.
    pub departments: Vec<(String, String, Vec<String>)>,
    pub matters: usize,
    /// Hooks bound (eligibility, weight, conflict).
    pub hooks: usize,
    pub rules_hash: String,
}

/// Sums up rules that loaded without errors (loading reports every problem; see
/// [`super::load_rules`]).
pub fn run(loaded: &Loaded) -> Checked {
    let model = &loaded.model;
    let hooks = model
        .matters()
        .map(|m| {
            [&m.eligible, &m.weight, &m.conflict]
                .iter()
                .filter(|h| h.is_some())
                .count()
        })
        .sum::<usize>();
    Checked {
        bureau: model.config.bureau.name.clone(),
        departments: model
            .departments
            .iter()
            .map(|d| {
                let matters = d.matters.iter().map(|m| m.id.clone()).collect();
                (d.id.clone(), d.name.clone(), matters)
            })
            .collect(),
        matters: model.matters().count(),
        hooks,
        rules_hash: model.rules_hash.clone(),
    }
}
