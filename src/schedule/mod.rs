//! When draws happen: periods, issue and due dates, and the clocks the service runs on.
pub mod clock;
pub mod marks;
pub mod period;

pub use period::{
    CRON_CAP, ClassCover, DrawKind, Period, ScheduledDraw, TimingProblem, class_cover, first_form,
    matter_schedule, period_key, periods, timing_problems, year_schedule,
};
