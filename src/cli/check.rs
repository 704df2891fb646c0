//! `suiji check`: validate config, rules and scripts.

use super::{Cli, Failed, exit, load_rules};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(cli: &Cli, _args: &Args) -> Result<i32, Failed> {
    let loaded = load_rules(cli)?;
    let model = &loaded.model;
    let matters = model.matters().count();
    let hooks = model
        .matters()
        .map(|m| {
            [&m.eligible, &m.weight, &m.conflict]
                .iter()
                .filter(|h| h.is_some())
                .count()
        })
        .sum::<usize>();
    outln!(
        "ok: {} — {} departments, {matters} matters, {hooks} hooks; rules {}",
        model.config.bureau.name,
        model.departments.len(),
        &model.rules_hash[..12]
    );
    for d in &model.departments {
        outln!(
            "  {} {}: {}",
            d.id,
            d.name,
            d.matters
                .iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(exit::OK)
}
