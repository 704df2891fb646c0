//! What tests look up in a draw's manifest (JSON): a stratum's drawn targets and its
//! substitutes, a staffed target and its team.

use serde_json::Value;

/// A JSON string's text.
pub fn text(v: &Value) -> String {
    v.as_str().expect("a string").to_string()
}

/// A stratum of the version-2 manifest `m` with at least two drawn targets and two
/// substitutes: (the stratum, its drawn target ids, its substitutes in rank order — the first
/// is the next to be taken in).
pub fn stratum_with_substitutes(m: &Value) -> (String, Vec<String>, Vec<String>) {
    let selected = m["selected"].as_array().expect("selected");
    let mut strata: Vec<String> = selected.iter().map(|s| text(&s["stratum"])).collect();
    strata.sort();
    strata.dedup();
    for s in strata {
        let drawn: Vec<String> = selected
            .iter()
            .filter(|x| text(&x["stratum"]) == s)
            .map(|x| text(&x["target_id"]))
            .collect();
        let spare = substitutes_of(m, &s);
        if drawn.len() >= 2 && spare.len() >= 2 {
            return (s, drawn, spare);
        }
    }
    panic!("no stratum with two drawn targets and two substitutes");
}

/// The substitutes of `stratum` in the version-2 manifest `m`, in rank order (the first is the
/// next to be taken in).
pub fn substitutes_of(m: &Value, stratum: &str) -> Vec<String> {
    let subs = m["substitutes"].as_array().expect("a version 2 manifest");
    let mut spare: Vec<(u64, String)> = subs
        .iter()
        .filter(|x| x["stratum"] == stratum)
        .map(|x| (x["rank"].as_u64().expect("rank"), text(&x["target_id"])))
        .collect();
    spare.sort();
    spare.into_iter().map(|x| x.1).collect()
}

/// The first drawn target of `m` with a team, other than those in `besides`: (its id, its
/// team's inspector ids).
pub fn staffed_besides(m: &Value, besides: &[String]) -> (String, Vec<String>) {
    m["selected"]
        .as_array()
        .expect("selected")
        .iter()
        .filter(|s| !besides.contains(&text(&s["target_id"])))
        .find(|s| !s["team"].as_array().expect("team").is_empty())
        .map(|s| {
            let team = s["team"].as_array().expect("team").iter().map(text);
            (text(&s["target_id"]), team.collect())
        })
        .expect("a staffed target")
}
