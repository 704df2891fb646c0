//! When draws happen: periods, issue and due dates, and the clocks the service runs on.
pub mod clock;
pub mod marks;
pub mod period;

pub use period::{DrawKind, Period, ScheduledDraw, matter_schedule, periods, year_schedule};
