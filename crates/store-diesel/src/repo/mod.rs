//! The repository body, written once as macros and expanded for each
//! connection type in `crate::backend` (ADR 0001: diesel's `MultiConnection`
//! does not work with diesel-async, and generic code over `AsyncConnection`
//! drowns in trait bounds; a macro keeps one body that each backend
//! type-checks on its own).

pub mod admin;
pub mod outbox;
pub mod users;
