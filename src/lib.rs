//! suiji — a rule-driven engine for 双随机、一公开 random inspections.
//!
//! Data flows one way: [`rules`] (config, rule files, scripts → validated model) and
//! [`calendar`] feed [`schedule`]; [`registry`] snapshots feed [`draw`]; draws are kept by
//! [`store`] and rendered by [`output`]. [`cli`] is the only module that knows clap.

pub mod calendar;
pub mod cli;
pub mod diag;
pub mod draw;
pub mod issue;
pub mod output;
pub mod probe;
pub mod registry;
pub mod results;
pub mod rules;
pub mod schedule;
pub mod script;
pub mod store;
pub mod verify;
