//! Jobs: what a user can start (issue a draw, verify one, run the service), each one call over
//! the core and the model. Jobs own transactions, staging and file placement; the faces (`cli`)
//! only parse, call a job and render its result.
pub mod issue;
pub mod probe;
pub mod service;
pub mod verify;
