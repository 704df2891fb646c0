//! suiji — a rule-driven engine for 双随机、一公开 random inspections.
//!
//! Four layers, calls go down only (see ARCHITECTURE.md):
//! - model: [`diag`], [`digest`], [`durable`], [`calendar`], [`registry`], [`script`], [`rules`], [`store`];
//! - core: [`schedule`] (periods, clocks), [`draw`], [`results`] (result rules), [`output`];
//! - jobs: [`jobs`] (issue a draw, verify one, publish results, the service loop);
//! - faces: [`cli`], the only module that knows clap; [`web`], the staff console.

pub mod calendar;
pub mod cli;
pub mod diag;
pub mod digest;
pub mod draw;
pub mod durable;
pub mod jobs;
pub mod output;
pub mod registry;
pub mod results;
pub mod rules;
pub mod schedule;
pub mod script;
pub mod store;
pub mod web;
