//! The sandboxed Rhai engine that runs rule hooks.
//!
//! One [`Sandbox`] is configured for all rules: no modules, no `eval`, strict variables,
//! errors on misspelt map properties, and bounded operations, call depth, expression depth and
//! string/array/map sizes per call. These limits count work, not time, so a hook that passes on
//! one machine passes on every machine: a draw's result never depends on how fast it ran.
//! Scripts are compiled once, at load, and hooks are called by name without re-running the
//! script's top level.

mod reads;
mod value;

pub(crate) use reads::fields_read;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rhai::packages::{
    BasicArrayPackage, BasicBlobPackage, BasicMapPackage, BasicMathPackage, BitFieldPackage,
    CorePackage, LogicPackage, MoreStringPackage, Package,
};
use rhai::{AST, ASTNode, CallFnOptions, Dynamic, Engine, EvalAltResult, Expr, Position, Scope};

pub use value::{Extra, ctx_map, inspector_map, target_map};

/// The default of `[scripts] draw_operations`.
pub const DEFAULT_DRAW_OPERATIONS: u64 = 1_000_000_000;

thread_local! {
    /// Operations of the hook call running (or last run) on this thread.
    static OPERATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The operations the last hook call on this thread used.
pub fn last_operations() -> u64 {
    OPERATIONS.with(std::cell::Cell::get)
}

/// Limits for every rule script call.
#[derive(Debug, Clone, Copy)]
pub struct ScriptLimits {
    pub max_operations: u64,
    pub max_call_depth: usize,
    pub max_expr_depth: usize,
    pub max_string_size: usize,
    pub max_array_size: usize,
    pub max_map_size: usize,
    /// Operations all the `eligible` and `weight` hooks of one draw may use together, counted
    /// per target (an answer reused for several targets counts for each), and the `conflict`
    /// calls of its team step after them.
    pub draw_operations: u64,
}

impl Default for ScriptLimits {
    fn default() -> Self {
        ScriptLimits {
            max_operations: 1_000_000,
            max_call_depth: 32,
            max_expr_depth: 64,
            max_string_size: 64 * 1024,
            max_array_size: 10_000,
            max_map_size: 10_000,
            draw_operations: DEFAULT_DRAW_OPERATIONS,
        }
    }
}

/// The hooks a matter may name, with the arity each must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    /// `eligible(target, ctx) -> bool`
    Eligible,
    /// `weight(target, ctx) -> number > 0`
    Weight,
    /// `conflict(inspector, target) -> bool` (true = must not inspect: 回避)
    Conflict,
    /// `class(target, ctx) -> text or ()`: the target's class for `class_ratios` (分类).
    Class,
}

impl HookKind {
    pub(crate) fn fn_name(self) -> &'static str {
        match self {
            HookKind::Eligible => "eligible",
            HookKind::Weight => "weight",
            HookKind::Conflict => "conflict",
            HookKind::Class => "class",
        }
    }

    pub fn params(self) -> &'static str {
        match self {
            HookKind::Eligible | HookKind::Weight | HookKind::Class => "(target, ctx)",
            HookKind::Conflict => "(inspector, target)",
        }
    }

    pub(crate) fn arity(self) -> usize {
        2
    }
}

/// A compiled script shared by the hooks that name it.
#[derive(Debug)]
pub struct Script {
    pub path: PathBuf,
    /// Display name used in errors (relative to the project root).
    pub name: String,
    pub source: String,
    pub ast: AST,
}

/// A hook: one function of a compiled script.
#[derive(Debug, Clone)]
pub struct Hook {
    pub kind: HookKind,
    pub script: Arc<Script>,
    /// The function's name inside the script.
    pub function: String,
    /// Target fields the hook reads, when every use of its target parameter is a plain
    /// `target.field` access; `None` when it may read anything (then results are not memoised).
    pub reads: Option<Vec<String>>,
}

/// A failed hook call: which script, where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{script}:{line}:{column}: {message}")]
pub struct HookError {
    pub script: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// The one configured Rhai engine.
pub struct Sandbox {
    engine: Engine,
    limits: ScriptLimits,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("limits", &self.limits)
            .finish()
    }
}

impl Sandbox {
    pub fn new(limits: ScriptLimits) -> Sandbox {
        // The standard library without its time package: `timestamp()` would make a draw
        // depend on when it ran, which `verify` cannot reproduce.
        let mut engine = Engine::new_raw();
        for lib in [
            CorePackage::new().as_shared_module(),
            BitFieldPackage::new().as_shared_module(),
            LogicPackage::new().as_shared_module(),
            BasicMathPackage::new().as_shared_module(),
            BasicArrayPackage::new().as_shared_module(),
            BasicBlobPackage::new().as_shared_module(),
            BasicMapPackage::new().as_shared_module(),
            MoreStringPackage::new().as_shared_module(),
        ] {
            engine.register_global_module(lib);
        }
        engine
            .set_max_operations(limits.max_operations)
            .set_max_call_levels(limits.max_call_depth)
            .set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth)
            .set_max_string_size(limits.max_string_size)
            .set_max_array_size(limits.max_array_size)
            .set_max_map_size(limits.max_map_size)
            .set_strict_variables(true)
            .set_fail_on_invalid_map_property(true)
            .set_allow_looping(true)
            .set_allow_shadowing(true)
            // Operators look for registered functions first, so that comparing text with a
            // number reaches the one that refuses it (the built-in answers `false`).
            .set_fast_operators(false);
        engine.disable_symbol("eval");
        // `print` and `debug` are inert: a hook called once per target must not write a log
        // line per target.
        engine.on_print(|_| {});
        engine.on_debug(|_, _, _| {});
        // Counts each call's operations, for the per-draw budget.
        engine.on_progress(|n| {
            OPERATIONS.with(|c| c.set(n));
            None
        });
        value::register(&mut engine);
        Sandbox { engine, limits }
    }

    pub fn limits(&self) -> ScriptLimits {
        self.limits
    }

    /// Compiles a script. On error: (line, column, message).
    pub fn compile(&self, source: &str) -> Result<AST, (usize, usize, String)> {
        self.engine.compile(source).map_err(|e| {
            let (line, col) = pos(e.position());
            (line, col, e.0.to_string())
        })
    }

    /// Calls a hook with two arguments under the sandbox's limits.
    /// Counts its operations ([`last_operations`]).
    pub fn call(&self, hook: &Hook, a: Dynamic, b: Dynamic) -> Result<Dynamic, HookError> {
        OPERATIONS.with(|c| c.set(0));
        let mut scope = Scope::new();
        let options = CallFnOptions::new().eval_ast(false).rewind_scope(true);
        let result = self.engine.call_fn_with_options::<Dynamic>(
            options,
            &mut scope,
            &hook.script.ast,
            &hook.function,
            (a, b),
        );
        result.map_err(|e| self.hook_error(hook, &e))
    }

    fn hook_error(&self, hook: &Hook, e: &EvalAltResult) -> HookError {
        let (mut line, mut column) = pos(innermost_position(e));
        if line == 0 {
            // No position from the engine (e.g. a limit hit at the call boundary): point at
            // the hook's declaration.
            let decl = format!("fn {}(", hook.function);
            if let Some(at) = hook.script.source.find(&decl) {
                (line, column) = crate::diag::line_col(&hook.script.source, at);
            }
        }
        let message = match innermost(e) {
            EvalAltResult::ErrorTooManyOperations(_) => format!(
                "hook `{}` exceeded the limit of {} operations (an endless loop?)",
                hook.function, self.limits.max_operations
            ),
            EvalAltResult::ErrorDataTooLarge(what, _) => {
                format!(
                    "hook `{}`: {what} is larger than the sandbox allows",
                    hook.function
                )
            }
            EvalAltResult::ErrorStackOverflow(_) => format!(
                "hook `{}` called functions deeper than the limit of {}",
                hook.function, self.limits.max_call_depth
            ),
            EvalAltResult::ErrorPropertyNotFound(name, _) => format!(
                "hook `{}` reads `{name}`, which does not exist (the fields hooks see are \
                 listed in docs/rules.md §4)",
                hook.function
            ),
            EvalAltResult::ErrorRuntime(value, _) if value.is_string() => {
                format!("hook `{}` failed: {value}", hook.function)
            }
            other => {
                // The place is given apart (script:line:column), not repeated in the text.
                let text = other.to_string();
                let at = format!(" ({})", other.position());
                let text = text.strip_suffix(&at).unwrap_or(&text);
                format!("hook `{}` failed: {text}", hook.function)
            }
        };
        HookError {
            script: hook.script.name.clone(),
            line,
            column,
            message,
        }
    }
}

fn innermost(e: &EvalAltResult) -> &EvalAltResult {
    match e {
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => innermost(inner),
        other => other,
    }
}

fn innermost_position(e: &EvalAltResult) -> Position {
    let inner = innermost(e);
    if inner.position().is_none() {
        e.position()
    } else {
        inner.position()
    }
}

fn pos(p: Position) -> (usize, usize) {
    (p.line().unwrap_or(0), p.position().unwrap_or(0))
}

/// Functions a hook may not call, with why: their answer would not be the same when the draw is
/// verified.
const FORBIDDEN_CALLS: &[(&str, &str)] = &[(
    "timestamp",
    "the time a draw ran cannot be reproduced by `suiji verify`",
)];

/// Calls in `ast` to functions hooks may not use: (line, column, name, why).
pub(crate) fn forbidden_calls(ast: &AST) -> Vec<(usize, usize, &'static str, &'static str)> {
    let mut found = Vec::new();
    ast.walk(&mut |path: &[ASTNode]| {
        let call = match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(f, at))) => Some((f.name.as_str(), *at)),
            Some(ASTNode::Expr(Expr::MethodCall(f, at))) => Some((f.name.as_str(), *at)),
            _ => None,
        };
        if let Some((name, at)) = call
            && let Some((name, why)) = FORBIDDEN_CALLS.iter().find(|(n, _)| *n == name)
        {
            let (line, column) = pos(at);
            found.push((line, column, *name, *why));
        }
        true
    });
    found
}

/// Display name of a path relative to `root`.
pub(crate) fn display_path(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(sandbox: &Sandbox, src: &str) -> Result<Hook, (usize, usize, String)> {
        let ast = sandbox.compile(src)?;
        Ok(Hook {
            kind: HookKind::Eligible,
            script: Arc::new(Script {
                path: PathBuf::from("t.rhai"),
                name: "t.rhai".into(),
                source: src.into(),
                ast,
            }),
            function: "f".into(),
            reads: None,
        })
    }

    fn target() -> Dynamic {
        let t = crate::registry::types::Target {
            id: "T1".into(),
            name: "宾馆".into(),
            category: "hotel".into(),
            district: "平邑街道".into(),
            address: String::new(),
            key_area: false,
            class: Some("B".into()),
            licence: None,
            status: crate::registry::types::TargetStatus::Active,
            last_inspected: None,
            last_result: None,
            extra: Default::default(),
        };
        target_map(&t)
    }

    #[test]
    fn sandbox_refuses_eval_modules_and_undeclared_variables() {
        let sb = Sandbox::new(ScriptLimits::default());
        assert!(
            sb.compile("fn f(t, c) { eval(\"1\") }").is_err(),
            "eval is disabled"
        );
        assert!(
            sb.compile("import \"fs\" as fs; fn f(t, c) { true }")
                .is_err(),
            "no modules"
        );
        let err = sb.compile("fn f(t, c) { t.category == nowhere }").err();
        assert!(
            err.is_some_and(|(line, _, msg)| line == 1 && msg.contains("nowhere")),
            "strict variables"
        );
    }

    #[test]
    fn timestamp_is_found_and_not_callable_and_print_is_inert() {
        let sb = Sandbox::new(ScriptLimits::default());
        let src = "fn f(t, c) {\n  let now = timestamp();\n  true\n}";
        let ast = sb.compile(src).expect("compiles");
        assert_eq!(
            forbidden_calls(&ast)
                .iter()
                .map(|(l, c, n, _)| (*l, *c, *n))
                .collect::<Vec<_>>(),
            vec![(2, 13, "timestamp")]
        );
        let h = hook(&sb, src).expect("compiles");
        assert!(
            sb.call(&h, target(), Dynamic::UNIT).is_err(),
            "no time package"
        );
        let h = hook(&sb, "fn f(t, c) { print(t.id); debug(t.id); 7 }").expect("compiles");
        assert_eq!(
            sb.call(&h, target(), Dynamic::UNIT)
                .ok()
                .and_then(|v| v.as_int().ok()),
            Some(7)
        );
        assert!(forbidden_calls(&h.script.ast).is_empty());
    }

    #[test]
    fn misspelt_field_is_an_error_not_unit() {
        let sb = Sandbox::new(ScriptLimits::default());
        let h = hook(&sb, "fn f(t, c) {\n  t.categroy == \"hotel\"\n}").expect("compiles");
        let err = sb
            .call(&h, target(), Dynamic::UNIT)
            .expect_err("misspelt property");
        assert_eq!((err.script.as_str(), err.line), ("t.rhai", 2));
        assert!(err.message.contains("categroy"), "{}", err.message);
        let ok = hook(
            &sb,
            "fn f(t, c) { t.category == \"hotel\" && t.class == \"B\" }",
        )
        .expect("compiles");
        assert_eq!(
            sb.call(&ok, target(), Dynamic::UNIT)
                .ok()
                .and_then(|v| v.as_bool().ok()),
            Some(true)
        );
    }

    #[test]
    fn limits_stop_runaway_scripts() {
        let sb = Sandbox::new(ScriptLimits {
            max_operations: 10_000,
            ..ScriptLimits::default()
        });
        let h = hook(&sb, "fn f(t, c) { loop { } }").expect("compiles");
        let err = sb.call(&h, target(), Dynamic::UNIT).expect_err("stopped");
        assert!(
            err.message
                .contains("exceeded the limit of 10000 operations"),
            "{}",
            err.message
        );
        // The depth and size limits stop these before the operation limit does.
        let sb = Sandbox::new(ScriptLimits::default());
        let h = hook(&sb, "fn f(t, c) { f(t, c) }").expect("compiles");
        let err = sb.call(&h, target(), Dynamic::UNIT).expect_err("too deep");
        assert!(
            err.message.contains("deeper than the limit"),
            "{}",
            err.message
        );
        let h = hook(&sb, "fn f(t, c) { let a = []; loop { a.push(1); } }").expect("compiles");
        let err = sb.call(&h, target(), Dynamic::UNIT).expect_err("too large");
        assert!(
            err.message.contains("larger than the sandbox allows"),
            "{}",
            err.message
        );
    }

    fn target_with_extra() -> Dynamic {
        let mut t = crate::registry::types::Target {
            id: "T1".into(),
            name: "宾馆".into(),
            category: "hotel".into(),
            district: "平邑街道".into(),
            address: String::new(),
            key_area: false,
            class: None,
            licence: None,
            status: crate::registry::types::TargetStatus::Active,
            last_inspected: None,
            last_result: None,
            extra: Default::default(),
        };
        for (k, v) in [
            ("投诉次数", "3"),
            ("面积", "12.5"),
            ("编号", "007"),
            ("备注", ""),
            ("活动日期", "2023-05-01"),
            ("rooms", "24"),
        ] {
            t.extra.insert(k.into(), v.into());
        }
        target_map(&t)
    }

    fn answer(sb: &Sandbox, body: &str) -> Result<Dynamic, HookError> {
        let h = hook(sb, &format!("fn f(t, c) {{\n{body}\n}}")).expect("compiles");
        sb.call(&h, target_with_extra(), Dynamic::UNIT)
    }

    #[test]
    fn extra_numbers_are_numbers_and_empty_or_absent_columns_read_unit() {
        let sb = Sandbox::new(ScriptLimits::default());
        for body in [
            "t.extra[\"投诉次数\"] >= 3",
            "t.extra.rooms == 24",
            "t.extra[\"面积\"] > 12.0 && t.extra[\"面积\"] < 13.0",
            "t.extra[\"编号\"] == \"007\"",
            "t.extra[\"活动日期\"] >= \"2023-01-01\"",
            "t.extra[\"备注\"] == ()",
            "t.extra[\"没有这一列\"] == ()",
            "t.extra.nothing == ()",
            "\"投诉次数\" in t.extra && !(\"备注\" in t.extra)",
            "t.extra.keys().len() == 5 && type_of(t.extra) == \"extra\"",
        ] {
            let got = answer(&sb, body).map(|v| v.as_bool());
            assert_eq!(got, Ok(Ok(true)), "{body}");
        }
    }

    #[test]
    fn comparing_text_with_a_number_fails_at_its_line() {
        let sb = Sandbox::new(ScriptLimits::default());
        for (body, text) in [
            (
                "let n = 1;\nt.extra[\"编号\"] >= 3",
                "\"007\" with the number 3",
            ),
            (
                "let n = 1;\n3 == t.extra[\"活动日期\"]",
                "\"2023-05-01\" with the number 3",
            ),
            ("let n = 1;\nt.id != 1.5", "\"T1\" with the number 1.5"),
        ] {
            let err = answer(&sb, body).expect_err(body);
            assert_eq!(err.line, 3, "{body}: {err}");
            assert!(err.message.contains(text), "{body}: {}", err.message);
        }
    }
}
