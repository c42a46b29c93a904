//! Upgrading a database that holds data: the lifecycle migration rebuilds
//! `users` and `audit_log` on SQLite (a CHECK and a NOT NULL cannot change
//! in place) and alters them on PostgreSQL. Every row must come through,
//! foreign keys intact, and the latest send's outbox row must be named.
//! The locale migration gives the tenants already there English.

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
            "SELECT name AS text FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('users', 'audit_log') ORDER BY 1"
        ),
        ["audit_log_user_idx", "users_invite_token_hash_key"],
        "the indexes are rebuilt"
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
