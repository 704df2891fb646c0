//! China's statutory holidays, adjusted working days (调休) and working-day arithmetic.
mod holiday;

pub use holiday::Holiday;
