//! Config and rule files: raw TOML → validated [`model::Model`], every problem located.
pub mod archive;
pub mod changes;
pub mod config;
pub mod department;
pub mod load;
pub mod model;
pub mod names;
pub(crate) mod notes;
pub mod reader;
pub mod values;

pub use load::{LoadError, Loaded, load, load_archived, load_config};
