//! Upgrading a database that holds data: the lifecycle migration rebuilds
//! `users` and `audit_log` on SQLite (a CHECK and a NOT NULL cannot change
//! in place) and alters them on PostgreSQL. Every row must come through,
//! foreign keys intact, and the latest send's outbox row must be named.
//! The locale migration gives the tenants already there English. The
//! without-rowid migration rebuilds `invite_sends`, `outbox` and
//! `audit_log` on SQLite again, keyed by their primary key alone.

use diesel::sql_types::Text;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// The migrations before the lifecycle one.
const BEFORE_LIFECYCLE: usize = 12;

#[derive(QueryableByName, Debug)]
struct Row {
    #[diesel(sql_type = Text)]
    text: String,
}

fn texts(c: &mut SqliteConnection, sql: &str) -> Vec<String> {
    diesel::sql_query(sql)
        .load::<Row>(c)
        .unwrap()
        .into_iter()
        .map(|r| r.text)
        .collect()
}

#[test]
fn a_sqlite_database_with_data_upgrades_with_every_row_and_reference_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let mut c = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    diesel::sql_query("PRAGMA foreign_keys = ON")
        .execute(&mut c)
        .unwrap();
    for _ in 0..BEFORE_LIFECYCLE {
        c.run_next_migration(SQLITE).unwrap();
    }
    let t = "0190a000-0000-7000-8000-00000000000a";
    let u = "0190d000-0000-7000-8000-00000000000d";
    for sql in [
        format!("INSERT INTO tenants VALUES ('{t}', 'Acme', '2026-11-26T10:00:00.000000Z')"),
        format!(
            "INSERT INTO users VALUES ('{t}', '{u}', 'ada@example.com', 'ada@example.com', \
             'Ada', 'invited', '2026-11-26T10:00:00.000000Z', NULL, 'ab', \
             '2026-12-03T10:00:00.000000Z', 2, '2026-11-26T11:00:00.000000Z', 1)"
        ),
        format!(
            "INSERT INTO invite_sends VALUES ('{t}', '0190e000-0000-7000-8000-000000000001', '{u}', '2026-11-26T10:00:00.000000Z')"
        ),
        format!(
            "INSERT INTO invite_sends VALUES ('{t}', '0190e000-0000-7000-8000-000000000002', '{u}', '2026-11-26T11:00:00.000000Z')"
        ),
        format!(
            "INSERT INTO outbox VALUES ('{t}', '0190e000-0000-7000-8000-000000000002', '{u}', \
             NULL, 'sent', 1, '2026-11-26T11:00:00.000000Z', NULL, NULL, \
             '2026-11-26T11:00:00.000000Z', '2026-11-26T11:00:01.000000Z', NULL)"
        ),
        format!(
            "INSERT INTO audit_log VALUES ('{t}', '0190f000-0000-7000-8000-000000000001', '{u}', \
             '0190c000-0000-7000-8000-00000000000c', 'req-1', 'InviteUser', 'succeeded', \
             '2026-11-26T10:00:00.000000Z')"
        ),
    ] {
        diesel::sql_query(sql).execute(&mut c).unwrap();
    }

    c.run_pending_migrations(SQLITE).unwrap();

    assert_eq!(
        texts(
            &mut c,
            "SELECT email || ' ' || status || ' ' || invite_sends || ' ' || invite_outbox_id || ' ' || COALESCE(revoked_at, '-') AS text FROM users"
        ),
        ["ada@example.com invited 2 0190e000-0000-7000-8000-000000000002 -"],
        "the user comes through, naming its latest send's message"
    );
    assert_eq!(
        texts(&mut c, "SELECT id AS text FROM invite_sends ORDER BY id").len(),
        2
    );
    assert_eq!(
        texts(&mut c, "SELECT action AS text FROM audit_log"),
        ["InviteUser"]
    );
    assert_eq!(
        texts(
            &mut c,
            "SELECT \"table\" AS text FROM pragma_foreign_key_check"
        ),
        Vec::<String>::new(),
        "no dangling reference"
    );
    // The rebuilt tables enforce what they did: references, the new status.
    let orphan = format!(
        "INSERT INTO invite_sends VALUES ('{t}', '0190e000-0000-7000-8000-000000000009', \
         '0190d000-0000-7000-8000-0000000000ff', '2026-11-26T10:00:00.000000Z')"
    );
    assert!(
        diesel::sql_query(orphan).execute(&mut c).is_err(),
        "the reference to users holds"
    );
    diesel::sql_query(format!(
        "UPDATE users SET status = 'revoked' WHERE id = '{u}'"
    ))
    .execute(&mut c)
    .unwrap();
    assert!(
        diesel::sql_query("UPDATE users SET status = 'gone'")
            .execute(&mut c)
            .is_err(),
        "the status check holds"
    );
    diesel::sql_query(format!(
        "INSERT INTO audit_log VALUES ('{t}', '0190f000-0000-7000-8000-000000000002', '{u}', \
         NULL, 'req-2', 'AcceptInvite', 'expired', '2026-11-26T12:00:00.000000Z')"
    ))
    .execute(&mut c)
    .unwrap();
    assert_eq!(
        texts(
            &mut c,
            "SELECT name AS text FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('users', 'audit_log', 'invite_sends', 'outbox') ORDER BY 1"
        ),
        [
            "audit_log_at_idx",
            "audit_log_user_idx",
            "invite_sends_sent_at_idx",
            "invite_sends_user_sent_at_idx",
            "outbox_claim_idx",
            "outbox_created_at_idx",
            "outbox_id_idx",
            "users_invite_token_hash_key"
        ],
        "the indexes are rebuilt, and retention's are added"
    );
    // The without-rowid migration: the tables a resend inserts into are
    // stored by their key, with every row and value as it was.
    assert_eq!(
        texts(
            &mut c,
            "SELECT name || ' ' || wr AS text FROM pragma_table_list WHERE name IN ('invite_sends', 'audit_log', 'outbox', 'users') ORDER BY 1"
        ),
        ["audit_log 1", "invite_sends 1", "outbox 1", "users 0"]
    );
    assert_eq!(
        texts(
            &mut c,
            "SELECT id || ' ' || user_id || ' ' || sent_at AS text FROM invite_sends ORDER BY id"
        ),
        [
            format!("0190e000-0000-7000-8000-000000000001 {u} 2026-11-26T10:00:00.000000Z"),
            format!("0190e000-0000-7000-8000-000000000002 {u} 2026-11-26T11:00:00.000000Z"),
        ]
    );
    assert_eq!(
        texts(
            &mut c,
            "SELECT id || ' ' || COALESCE(key_id, '-') || ' ' || request_id || ' ' || outcome || ' ' || at AS text FROM audit_log ORDER BY id"
        ),
        [
            "0190f000-0000-7000-8000-000000000001 0190c000-0000-7000-8000-00000000000c req-1 succeeded 2026-11-26T10:00:00.000000Z",
            "0190f000-0000-7000-8000-000000000002 - req-2 expired 2026-11-26T12:00:00.000000Z",
        ]
    );
    assert_eq!(
        texts(
            &mut c,
            "SELECT id || ' ' || status || ' ' || attempts || ' ' || COALESCE(payload, '-') || ' ' || sent_at AS text FROM outbox"
        ),
        ["0190e000-0000-7000-8000-000000000002 sent 1 - 2026-11-26T11:00:01.000000Z"]
    );
    let duplicate = format!(
        "INSERT INTO audit_log VALUES ('{t}', '0190f000-0000-7000-8000-000000000002', NULL, \
         NULL, 'req-3', 'AcceptInvite', 'expired', '2026-11-26T12:00:00.000000Z')"
    );
    assert!(
        diesel::sql_query(duplicate).execute(&mut c).is_err(),
        "the primary key holds"
    );
    // The locale migration: a tenant from before it writes in English, and
    // only the three locales are stored.
    assert_eq!(texts(&mut c, "SELECT locale AS text FROM tenants"), ["en"]);
    assert!(
        diesel::sql_query("UPDATE tenants SET locale = 'es'")
            .execute(&mut c)
            .is_err(),
        "the locale check holds"
    );
}

/// The without-rowid migration undone and done again keeps every row.
#[test]
fn the_without_rowid_migration_reverts_and_reapplies_with_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tables.db");
    let mut c = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    diesel::sql_query("PRAGMA foreign_keys = ON")
        .execute(&mut c)
        .unwrap();
    c.run_pending_migrations(SQLITE).unwrap();
    let t = "0190a000-0000-7000-8000-00000000000a";
    let u = "0190d000-0000-7000-8000-00000000000d";
    for sql in [
        format!(
            "INSERT INTO tenants (id, name, created_at) VALUES ('{t}', 'Acme', '2026-11-26T10:00:00.000000Z')"
        ),
        format!(
            "INSERT INTO users (tenant_id, id, email, email_normalized, status, created_at, \
             invite_sends, version) VALUES ('{t}', '{u}', 'ada@example.com', 'ada@example.com', \
             'invited', '2026-11-26T10:00:00.000000Z', 1, 1)"
        ),
        format!(
            "INSERT INTO invite_sends VALUES ('{t}', '0190e000-0000-7000-8000-000000000001', '{u}', '2026-11-26T10:00:00.000000Z')"
        ),
        format!(
            "INSERT INTO outbox VALUES ('{t}', '0190e000-0000-7000-8000-000000000001', '{u}', \
             '{{\"to\":\"ada@example.com\"}}', 'pending', 0, '2026-11-26T10:00:00.000000Z', \
             NULL, NULL, '2026-11-26T10:00:00.000000Z', NULL, NULL)"
        ),
        format!(
            "INSERT INTO audit_log VALUES ('{t}', '0190f000-0000-7000-8000-000000000001', '{u}', \
             NULL, 'req-1', 'AcceptInvite', 'succeeded', '2026-11-26T10:00:00.000000Z')"
        ),
    ] {
        diesel::sql_query(sql).execute(&mut c).unwrap();
    }
    let stored = |c: &mut SqliteConnection| {
        texts(
            c,
            "SELECT 'send ' || id || ' ' || user_id || ' ' || sent_at AS text FROM invite_sends \
             UNION ALL SELECT 'audit ' || id || ' ' || request_id || ' ' || at FROM audit_log \
             UNION ALL SELECT 'outbox ' || id || ' ' || status || ' ' || payload FROM outbox \
             UNION ALL SELECT 'wr ' || name || ' ' || wr FROM pragma_table_list \
             WHERE name IN ('invite_sends', 'audit_log', 'outbox') ORDER BY 1",
        )
    };
    let rows = |wr: u8| {
        vec![
            "audit 0190f000-0000-7000-8000-000000000001 req-1 2026-11-26T10:00:00.000000Z"
                .to_owned(),
            "outbox 0190e000-0000-7000-8000-000000000001 pending {\"to\":\"ada@example.com\"}"
                .to_owned(),
            format!("send 0190e000-0000-7000-8000-000000000001 {u} 2026-11-26T10:00:00.000000Z"),
            format!("wr audit_log {wr}"),
            format!("wr invite_sends {wr}"),
            format!("wr outbox {wr}"),
        ]
    };
    assert_eq!(stored(&mut c), rows(1));

    // Reverts the migrations after it too, if there are any by now.
    while c.revert_last_migration(SQLITE).unwrap().to_string() != "20261208000100" {}
    assert_eq!(stored(&mut c), rows(0));
    c.run_pending_migrations(SQLITE).unwrap();
    assert_eq!(stored(&mut c), rows(1));
    assert_eq!(
        texts(
            &mut c,
            "SELECT \"table\" AS text FROM pragma_foreign_key_check"
        ),
        Vec::<String>::new()
    );
}
