//! Config and rule files: raw TOML → validated [`model::Model`].
pub mod model;
