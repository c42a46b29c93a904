//! Beckon's `Authorizer` on Cedar policies: loads and strictly validates the
//! schema and policies once (built in, or from `BECKON_POLICY_DIR`), then
//! decides each request from entities built in code, memoising decisions by
//! role, action and resource shape when the policies cannot tell entity ids
//! apart (`memo`).
//!
//! The binary calls [`CedarAuthorizer::load`] at start (printing
//! [`PolicyError`] and refusing to start when it fails) and [`check`] for
//! `beckon policy check`; with the feature `verify`, [`verify::verify`] for
//! `beckon policy verify`.
#![forbid(unsafe_code)]

mod authorizer;
mod diag;
mod error;
mod load;
mod memo;
mod request;
#[cfg(feature = "verify")]
pub mod verify;

pub use authorizer::{CedarAuthorizer, EVALUATION_ERROR_NOTICE, PolicySummary, check};
pub use error::PolicyError;
