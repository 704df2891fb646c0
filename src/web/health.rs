//! `/healthz`, for a load balancer or a monitor: whether this node can serve and issue draws.
//!
//! Answered without a login and without a session cookie, never cached. The status is 200
//! when the database answers a read and the scheduler this process was started with is still
//! running (or the process runs none: `serve --no-scheduler`); otherwise 503, so a balancer
//! takes the node out. Rules that fail to load are reported but do not fail the check: the
//! console is where they are mended, and the scheduler keeps the last rules that loaded.

use std::sync::atomic::{AtomicU8, Ordering};

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::App;

/// Whether this process runs the scheduler, and whether it still does: 0 (the default) while
/// no scheduler thread was started here.
#[derive(Debug, Default)]
pub(crate) struct Scheduler(AtomicU8);

const RUNNING: u8 = 1;
const STOPPED: u8 = 2;

impl Scheduler {
    /// The scheduler thread has started.
    pub(crate) fn started(&self) {
        self.0.store(RUNNING, Ordering::SeqCst);
    }

    /// The scheduler thread has ended (an error, or the process is shutting down).
    fn stopped(&self) {
        self.0.store(STOPPED, Ordering::SeqCst);
    }

    /// The line `/healthz` prints, and whether it is healthy.
    fn line(&self) -> (&'static str, bool) {
        match self.0.load(Ordering::SeqCst) {
            RUNNING => ("调度：运行中", true),
            STOPPED => ("调度：已停止（见服务日志）", false),
            _ => ("调度：不在本进程（serve --no-scheduler）", true),
        }
    }
}

/// Marks the scheduler stopped when dropped.
pub(crate) struct StopsOnDrop(pub(crate) std::sync::Arc<Scheduler>);

impl Drop for StopsOnDrop {
    fn drop(&mut self) {
        self.0.stopped();
    }
}

/// `GET /healthz`: `ok` or `fail` on the first line, then one line per check.
pub(crate) async fn healthz(State(app): State<App>) -> Response {
    let (lines, healthy) = tokio::task::spawn_blocking(move || checks(&app))
        .await
        .unwrap_or_else(|_| (vec!["检查中断".to_string()], false));
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = format!(
        "{}\n{}\n",
        if healthy { "ok" } else { "fail" },
        lines.join("\n")
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

fn checks(app: &App) -> (Vec<String>, bool) {
    let mut lines = Vec::new();
    let database = app
        .store(None)
        .map_err(|f| f.text())
        .and_then(|store| store.is_simulation().map_err(|e| e.to_string()));
    let database_ok = database.is_ok();
    lines.push(match database {
        Ok(_) => "数据库：可用".to_string(),
        Err(e) => format!("数据库：不可用：{}", one_line(&e)),
    });
    lines.push(match app.rules() {
        Ok(_) => "规则：已加载".to_string(),
        Err(f) => format!(
            "规则：有错误（调度沿用上次加载的规则）：{}",
            one_line(&f.text())
        ),
    });
    let (line, scheduler_ok) = app.inner.scheduler.line();
    lines.push(line.to_string());
    (lines, database_ok && scheduler_ok)
}

/// The first line of a message, for a one-line-per-check answer.
fn one_line(text: &str) -> &str {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{Scheduler, StopsOnDrop};

    #[test]
    fn a_scheduler_that_ended_however_it_ended_fails_the_check() {
        let state = Arc::new(Scheduler::default());
        assert_eq!(
            state.line(),
            ("调度：不在本进程（serve --no-scheduler）", true)
        );
        state.started();
        assert_eq!(state.line(), ("调度：运行中", true));
        let thread_state = Arc::clone(&state);
        let ended = std::thread::spawn(move || {
            let _stopped = StopsOnDrop(thread_state);
            panic!("the scheduler thread dies");
        })
        .join();
        assert!(ended.is_err());
        assert_eq!(state.line(), ("调度：已停止（见服务日志）", false));
    }
}
