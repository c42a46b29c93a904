//! The one `table!` schema both backends share; it mirrors
//! `migrations/{postgres,sqlite}` (a test checks the two agree).
#![allow(missing_docs)]

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::*;

    tenants (id) {
        id -> PortableUuid,
        name -> Text,
        created_at -> PortableTs,
        /// `en`, `de` or `fr` (CHECK).
        locale -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::*;

    /// Keyed by `id` alone: the key id is presented without a tenant
    /// (named global exception to "tenant_id leads every key").
    api_keys (id) {
        id -> PortableUuid,
        tenant_id -> PortableUuid,
        role -> Text,
        name -> Nullable<Text>,
        secret_hash -> Text,
        created_at -> PortableTs,
        revoked_at -> Nullable<PortableTs>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::*;

    users (tenant_id, id) {
        tenant_id -> PortableUuid,
        id -> PortableUuid,
        email -> Text,
        email_normalized -> Text,
        name -> Nullable<Text>,
        status -> Text,
        created_at -> PortableTs,
        verified_at -> Nullable<PortableTs>,
        invite_token_hash -> Nullable<Text>,
        invite_expires_at -> Nullable<PortableTs>,
        invite_sends -> Integer,
        invite_last_sent_at -> Nullable<PortableTs>,
        version -> BigInt,
        revoked_at -> Nullable<PortableTs>,
        /// The outbox message of the latest send (its delivery state).
        invite_outbox_id -> Nullable<PortableUuid>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::*;

    /// One row per send (for cooldown and the daily cap); `id` is the id of
    /// the outbox message that carried it.
    invite_sends (tenant_id, id) {
        tenant_id -> PortableUuid,
        id -> PortableUuid,
        user_id -> PortableUuid,
        sent_at -> PortableTs,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::*;

    outbox (tenant_id, id) {
        tenant_id -> PortableUuid,
        id -> PortableUuid,
        user_id -> PortableUuid,
        payload -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> PortableTs,
        claimed_until -> Nullable<PortableTs>,
        last_error -> Nullable<Text>,
        created_at -> PortableTs,
        sent_at -> Nullable<PortableTs>,
        failed_at -> Nullable<PortableTs>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::*;

    idempotency_records (tenant_id, idempotency_key) {
        tenant_id -> PortableUuid,
        idempotency_key -> Text,
        fingerprint -> Text,
        response -> Text,
        created_at -> PortableTs,
        /// The user the response is about (erased with the user).
        user_id -> Nullable<PortableUuid>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::*;

    audit_log (tenant_id, id) {
        tenant_id -> PortableUuid,
        id -> PortableUuid,
        user_id -> Nullable<PortableUuid>,
        /// `NULL` for an accept: the token's holder has no key.
        key_id -> Nullable<PortableUuid>,
        request_id -> Text,
        action -> Text,
        outcome -> Text,
        at -> PortableTs,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::*;

    webhooks (tenant_id) {
        tenant_id -> PortableUuid,
        url -> Text,
        secret -> Text,
        created_at -> PortableTs,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::*;

    webhook_events (tenant_id, id) {
        tenant_id -> PortableUuid,
        id -> PortableUuid,
        user_id -> PortableUuid,
        event_type -> Text,
        email -> Nullable<Text>,
        send_number -> Nullable<Integer>,
        message_id -> Nullable<PortableUuid>,
        occurred_at -> PortableTs,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> PortableTs,
        claimed_until -> Nullable<PortableTs>,
        last_error -> Nullable<Text>,
        settled_at -> Nullable<PortableTs>,
    }
}

diesel::joinable!(api_keys -> tenants (tenant_id));
diesel::allow_tables_to_appear_in_same_query!(
    tenants,
    api_keys,
    users,
    invite_sends,
    outbox,
    idempotency_records,
    audit_log,
    webhooks,
    webhook_events,
);

diesel::alias!(outbox as due_outbox: DueOutbox);
diesel::alias!(webhook_events as due_events: DueEvents);
// Retention names a batch of a table's rows with a sub-select of the same
// table: the sub-select reads an alias.
diesel::alias!(audit_log as old_audit: OldAudit);
diesel::alias!(invite_sends as old_sends: OldSends);
diesel::alias!(idempotency_records as old_records: OldRecords);
