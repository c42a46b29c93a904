//! One file per route.

pub mod accept_invite;
pub mod delete_user;
pub mod docs;
pub mod invite_page;
pub mod invite_user;
pub mod list_audit;
pub mod list_users;
pub mod ops;
pub mod read_user;
pub mod resend_invite;
pub mod revoke_invite;
