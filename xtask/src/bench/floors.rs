//! The database floors: the minimal durable work of one resend (read the
//! user; one transaction that rotates the token and inserts the send, the
//! outbox message and the audit line) with nothing of Beckon around it.
//! Beckon's resends per second are reported as a share of these.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl, SqliteConnection, sql_query};

use super::db::{self, PgDb};
use super::sys;

/// The size of the outbox payload the floors write: what Beckon stores per
/// message (a small JSON object: recipient, tenant name, token, expiry; the
/// email is rendered at delivery).
pub const PAYLOAD_BYTES: usize = 160;

/// The size of one rendered invite email on the wire (text and HTML parts,
/// headers), for smtp-source's messages.
pub const EMAIL_BYTES: usize = 2000;

/// pgbench running `xtask/bench/resend.pgbench.sql` with `clients`
/// connections for `secs` seconds over the tenant's invited users, on the
/// database the server used. Returns transactions per second.
pub fn pgbench(
    root: &Path,
    pg: &PgDb,
    tenant: &str,
    clients: usize,
    secs: u64,
) -> anyhow::Result<f64> {
    // The users as numbered rows, so the script can pick one at random
    // with a single indexed lookup.
    pg.psql(&format!(
        "DROP TABLE IF EXISTS bench_users; \
         CREATE TABLE bench_users AS SELECT (row_number() OVER (ORDER BY id) - 1)::int AS n, tenant_id, id \
           FROM users WHERE tenant_id = '{tenant}' AND status = 'invited'; \
         CREATE UNIQUE INDEX ON bench_users (n); ANALYZE bench_users;"
    ))?;
    let users = pg.scalar("SELECT count(*) FROM bench_users")?;
    let out = sys::stdout(
        Command::new("pgbench")
            .args(["-n", "-M", "prepared"])
            .args(["-j", &clients.min(2).to_string()])
            .args(["-c", &clients.to_string(), "-T", &secs.to_string()])
            .args(["-D", &format!("tenant={tenant}")])
            .args(["-D", &format!("users={users}")])
            .args(["-D", &format!("payload={PAYLOAD_BYTES}")])
            .arg("-f")
            .arg(root.join("xtask/bench/resend.pgbench.sql"))
            .arg(&pg.url),
    )?;
    out.lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("pgbench printed no tps:\n{out}"))
}

#[derive(QueryableByName)]
struct UserRow {
    #[diesel(sql_type = Text)]
    tenant_id: String,
    #[diesel(sql_type = Text)]
    id: String,
}

#[derive(QueryableByName)]
struct VersionRow {
    #[diesel(sql_type = BigInt)]
    version: i64,
}

/// The same work on SQLite: one writer (SQLite has one write lock, so
/// more writers only queue for it) with Beckon's connection settings and
/// `BEGIN IMMEDIATE`, on a copy of the server's database file so the copy
/// has the same data and the same size. Returns transactions per second.
///
/// The loop runs in a release build of this xtask (`bench --sqlite-floor`):
/// `cargo xtask` is a dev build, where SQLite itself is compiled without
/// optimization, which put the floor well below what SQLite does (about
/// 40 % lower when tried).
pub fn sqlite(root: &Path, file: &Path, secs: u64) -> anyhow::Result<f64> {
    let xtask = sys::build_release(root, "xtask")?;
    let out = sys::stdout(
        Command::new(xtask)
            .args(["bench", "--sqlite-floor"])
            .arg(file)
            .arg(secs.to_string()),
    )?;
    out.lines()
        .find_map(|l| l.strip_prefix("tps="))
        .and_then(|n| n.trim().parse().ok())
        .with_context(|| format!("the SQLite floor printed no tps:\n{out}"))
}

/// The SQLite floor's loop, in this process.
pub fn sqlite_loop(file: &Path, secs: u64) -> anyhow::Result<f64> {
    let mut c = db::sqlite(file)?;
    let users: Vec<UserRow> =
        sql_query("SELECT tenant_id, id FROM users WHERE status = 'invited'").load(&mut c)?;
    if users.is_empty() {
        bail!("no invited users in {}", file.display());
    }
    let payload = "x".repeat(PAYLOAD_BYTES);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let mut done = 0u64;
    while Instant::now() < deadline {
        let pick = usize::try_from(rng.next() % users.len() as u64).unwrap_or(0);
        let u = &users[pick];
        resend(&mut c, u, &payload, &mut rng)?;
        done += 1;
    }
    Ok(done as f64 / started.elapsed().as_secs_f64())
}

/// One resend's SQL, as Beckon's store issues it: the read outside the
/// transaction, the version-checked update and three inserts inside.
fn resend(
    c: &mut SqliteConnection,
    u: &UserRow,
    payload: &str,
    rng: &mut Rng,
) -> anyhow::Result<()> {
    // Beckon's timestamp spelling: fixed-width RFC 3339, microseconds, UTC.
    const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'";
    const LATER: &str = "strftime('%Y-%m-%dT%H:%M:%f', 'now', '+7 days') || '000Z'";
    let v: VersionRow = sql_query("SELECT version FROM users WHERE tenant_id = ? AND id = ?")
        .bind::<Text, _>(&u.tenant_id)
        .bind::<Text, _>(&u.id)
        .get_result(c)?;
    let token = format!(
        "{:016x}{:016x}{:016x}{:016x}",
        rng.next(),
        rng.next(),
        rng.next(),
        rng.next()
    );
    let message = rng.uuid();
    let audit = rng.uuid();
    let key = rng.uuid();
    c.immediate_transaction(|c| -> anyhow::Result<()> {
        let updated = sql_query(format!(
            "UPDATE users SET invite_token_hash = ?, invite_expires_at = {LATER}, \
             invite_last_sent_at = {NOW}, invite_sends = invite_sends + 1, version = version + 1 \
             WHERE tenant_id = ? AND id = ? AND version = ? AND status = 'invited'"
        ))
        .bind::<Text, _>(&token)
        .bind::<Text, _>(&u.tenant_id)
        .bind::<Text, _>(&u.id)
        .bind::<BigInt, _>(v.version)
        .execute(c)?;
        if updated != 1 {
            bail!("the floor's update changed {updated} rows");
        }
        sql_query(format!(
            "INSERT INTO invite_sends (tenant_id, id, user_id, sent_at) VALUES (?, ?, ?, {NOW})"
        ))
        .bind::<Text, _>(&u.tenant_id)
        .bind::<Text, _>(&message)
        .bind::<Text, _>(&u.id)
        .execute(c)?;
        sql_query(format!(
            "INSERT INTO outbox (tenant_id, id, user_id, payload, status, attempts, \
             next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', 0, {NOW}, {NOW})"
        ))
        .bind::<Text, _>(&u.tenant_id)
        .bind::<Text, _>(&message)
        .bind::<Text, _>(&u.id)
        .bind::<Text, _>(payload)
        .execute(c)?;
        sql_query(format!(
            "INSERT INTO audit_log (tenant_id, id, user_id, key_id, request_id, action, \
             outcome, at) VALUES (?, ?, ?, ?, 'bench', 'ResendInvite', 'succeeded', {NOW})"
        ))
        .bind::<Text, _>(&u.tenant_id)
        .bind::<Text, _>(&audit)
        .bind::<Text, _>(&u.id)
        .bind::<Text, _>(&key)
        .execute(c)?;
        Ok(())
    })
}

/// xorshift64: random enough to pick users and make unique ids, with no
/// dependency for it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A version-4-shaped UUID in Beckon's SQLite spelling.
    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }
}
