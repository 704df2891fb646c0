//! When draws happen: periods, issue and due dates, and the service loop.
pub mod clock;
pub mod period;
pub mod service;

pub use period::{DrawKind, Period, ScheduledDraw, matter_schedule, periods, year_schedule};
