//! Config and rule files: raw TOML → validated [`model::Model`], every problem located.
pub mod archive;
pub mod changes;
pub mod config;
pub(crate) mod cron_zh;
pub mod department;
pub mod edit;
pub mod load;
pub mod model;
pub mod names;
pub(crate) mod notes;
pub mod platform;
pub mod reader;
pub mod schema;
pub mod values;

pub use archive::Draft;
pub use load::{
    LoadError, Loaded, database_schema_alone, load, load_archived, load_config, load_draft,
    load_draft_staged,
};
