//! Printed outputs: plan documents, task lists, notices and reports.
pub mod credit;
pub mod doc;
pub mod notice;
pub mod plan;
pub mod publication;
pub mod report;
pub mod svg;
pub mod tasks;
