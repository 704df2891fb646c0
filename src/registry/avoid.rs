//! Whether a declared conflict of interest (回避 entry) names a target, as `suiji-draw/2`
//! matches it (docs/draw-algorithm.md V2-5).
//!
//! An entry, trimmed of whitespace, names a target when it equals the target's id or its name
//! exactly. An entry holding `*` is a pattern: `*` stands for any run of characters (none
//! included) and every other character for itself, and the pattern must match the whole id or
//! the whole name; `*平安*` names every target whose name contains 平安. An empty entry names
//! nothing. Nothing is normalised (no case folding, no full-width mapping).

/// Whether the 回避 `entry` names the target with this id and name.
pub fn names_target(entry: &str, id: &str, name: &str) -> bool {
    let e = entry.trim();
    if e.is_empty() {
        return false;
    }
    if e.contains('*') {
        glob(e, id) || glob(e, name)
    } else {
        e == id || e == name
    }
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters (greedy with
/// backtracking to the last `*`: linear in practice, at most len(pattern) × len(text)).
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut i, mut j) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if i < p.len() && p[i] == t[j] {
            i += 1;
            j += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_unless_a_wildcard_is_written() {
        let (id, name) = ("91440300MA5F000001", "福田平安酒店");
        assert!(names_target("福田平安酒店", id, name));
        assert!(names_target(" 91440300MA5F000001 ", id, name));
        assert!(!names_target("平安", id, name), "no silent substring match");
        assert!(!names_target("福田平安", id, name));
        assert!(names_target("*平安*", id, name));
        assert!(names_target("福田*", id, name));
        assert!(names_target("*酒店", id, name));
        assert!(!names_target("*旅馆", id, name));
        assert!(names_target("9144*0001", id, name));
        assert!(names_target("*", id, name));
        assert!(!names_target("", id, name));
        assert!(!names_target("  ", id, name));
        assert!(names_target("福*平*店", id, name));
        assert!(!names_target("福*平*馆", id, name));
        assert!(names_target("**酒店", id, name));
    }
}
