//! Target and inspector registries (名录库): reading, validation, snapshots.
pub mod types;
