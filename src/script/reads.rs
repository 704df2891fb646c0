//! What a hook reads of its parameter, decided from the compiled script (Rhai's own AST), never
//! from its text: comments and strings cannot mislead it.
//!
//! The answer is conservative. It lists fields only when every use of the parameter in the
//! function is `param.field`, `param?.field` or `param["field"]` (a field named by a literal);
//! anything it cannot prove — the parameter passed whole to a function, stored in another
//! variable, indexed by a computed value, called as a method, captured by a closure or by a
//! `func!()` call that sees the caller's scope — means the hook may read everything.

use rhai::{AST, ASTNode, Expr, Stmt};

/// The fields of parameter number `param` of function `function` (with `arity` parameters) the
/// function reads, sorted; `None` when it may read anything (or there is no such function).
pub(crate) fn fields_read(
    ast: &AST,
    function: &str,
    arity: usize,
    param: usize,
) -> Option<Vec<String>> {
    let meta = ast
        .iter_functions()
        .find(|f| f.name == function && f.params.len() == arity)?;
    let name = meta.params.get(param)?.to_string();
    // `clone_functions_only_filtered` keeps every function when it copies into an empty
    // module (rhai 1.27), which made each hook's reads those of the whole script: the
    // functions are copied whole and the others let go.
    let mut only = ast.clone_functions_only();
    only.retain_functions(|_, _, n, a| n == function && a == arity);
    let mut fields: Vec<String> = Vec::new();
    let mut proven = true;
    only.walk(&mut |nodes: &[ASTNode]| {
        match use_of(nodes, &name) {
            Use::None => {}
            Use::Field(f) => {
                if !fields.contains(&f) {
                    fields.push(f);
                }
            }
            Use::Unknown => proven = false,
        }
        proven
    });
    if !proven {
        return None;
    }
    fields.sort();
    Some(fields)
}

enum Use {
    /// The node is not a use of the parameter.
    None,
    Field(String),
    /// A use that may read anything.
    Unknown,
}

/// What the last node of `nodes` (a path from the function body's root) does with `param`.
fn use_of(nodes: &[ASTNode], param: &str) -> Use {
    let node = match nodes.last() {
        Some(ASTNode::Expr(node)) => node,
        // `helper!(…)` as a statement.
        Some(ASTNode::Stmt(Stmt::FnCall(call, _))) if call.capture_parent_scope => {
            return Use::Unknown;
        }
        _ => return Use::None,
    };
    match node {
        // `helper!(…)` runs `helper` in this scope, where it can see the parameter.
        Expr::FnCall(call, _) | Expr::MethodCall(call, _) if call.capture_parent_scope => {
            Use::Unknown
        }
        Expr::Variable(v, ..) if v.1.as_str() == param => {
            let parent = nodes.len().checked_sub(2).and_then(|i| nodes.get(i));
            match parent {
                Some(ASTNode::Expr(Expr::Dot(x, ..))) if is_same(&x.lhs, node) => {
                    match leftmost(&x.rhs) {
                        Expr::Property(p, _) => Use::Field(p.2.to_string()),
                        _ => Use::Unknown,
                    }
                }
                Some(ASTNode::Expr(Expr::Index(x, ..))) if is_same(&x.lhs, node) => {
                    match leftmost(&x.rhs) {
                        Expr::StringConstant(s, _) => Use::Field(s.to_string()),
                        _ => Use::Unknown,
                    }
                }
                _ => Use::Unknown,
            }
        }
        _ => Use::None,
    }
}

/// The first element of a chain (`a` of `a.b[c].d`).
fn leftmost(e: &Expr) -> &Expr {
    match e {
        Expr::Dot(x, ..) | Expr::Index(x, ..) => leftmost(&x.lhs),
        other => other,
    }
}

fn is_same(a: &Expr, b: &Expr) -> bool {
    std::ptr::eq(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::{Sandbox, ScriptLimits};

    fn reads(src: &str) -> Option<Vec<String>> {
        let sb = Sandbox::new(ScriptLimits::default());
        let ast = sb.compile(src).expect("compiles");
        fields_read(&ast, "eligible", 2, 0)
    }

    fn some(fields: &[&str]) -> Option<Vec<String>> {
        Some(fields.iter().map(|f| f.to_string()).collect())
    }

    #[test]
    fn plain_field_reads_are_listed() {
        assert_eq!(
            reads(
                "fn eligible(target, ctx) { target.category == \"hotel\" && target.extra.rooms > 10 }"
            ),
            some(&["category", "extra"])
        );
        assert_eq!(
            reads(
                "fn eligible(target, ctx) { let d = target.extra[\"活动日期\"]; target?.class == \"B\" && target[\"district\"] != d }"
            ),
            some(&["class", "district", "extra"])
        );
        assert_eq!(
            reads("fn eligible(target, ctx) { switch target.class { \"D\" => 5, _ => 1 } }"),
            some(&["class"])
        );
        assert_eq!(
            reads("fn eligible(target, ctx) { ctx.period == \"2023-H1\" }"),
            some(&[])
        );
    }

    #[test]
    fn each_function_is_read_alone() {
        // The other functions read `extra`; the hook reads only `class`.
        let src = "fn w(target, ctx) { switch target.class { \"D\" => 5, _ => 1 } }\nfn e(target, ctx) { let d = target.extra[\"x\"]; d == () }\nfn c(inspector, target) { let rep = target.extra[\"y\"]; rep != () && inspector.conflicts.contains(rep) }\nfn eligible(target, ctx) { target.class != \"A\" }";
        assert_eq!(reads(src), some(&["class"]));
    }

    #[test]
    fn text_inside_strings_and_comments_does_not_mislead() {
        // A brace in a string ended the body early when it was found by counting braces.
        let src = "fn eligible(target, ctx) {\n  let marker = \"}\";\n  // target\n  let s = \"target.id {\";\n  target.category == \"hotel\" && target.name != marker\n}";
        assert_eq!(reads(src), some(&["category", "name"]));
        let src = "fn eligible(target, ctx) {\n  let marker = \"}\";\n  let t = target;\n  t.id != marker\n}";
        assert_eq!(reads(src), None);
    }

    #[test]
    fn anything_unproven_reads_everything() {
        for src in [
            "fn eligible(target, ctx) { let t = target; t.category == \"x\" }",
            "fn eligible(target, ctx) { helper(target) }\nfn helper(t) { t.id == \"1\" }",
            "fn eligible(target, ctx) { let k = \"id\"; target[k] == \"1\" }",
            "fn eligible(target, ctx) { target.keys().len() > 3 }",
            "fn eligible(target, ctx) { let f = |x| target.id == x; f.call(\"1\") }",
            "fn eligible(target, ctx) { helper!() }\nfn helper() { true }",
            "fn eligible(target, ctx) { target == () }",
            "fn eligible(target, ctx) { [target][0].id == \"1\" }",
        ] {
            assert_eq!(reads(src), None, "{src}");
        }
        assert_eq!(
            reads("fn other(target, ctx) { true }"),
            None,
            "no such function"
        );
    }
}
