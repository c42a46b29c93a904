//! The parts of a run, each measuring and turning its figures into table
//! rows: resends on PostgreSQL and on SQLite (each beside its database
//! floor), the large data set, delivery, and the in-process benches.

use std::path::Path;

use anyhow::Context;

use super::db::{Db, PgDb};
use super::delivery::{self, Sink};
use super::floors;
use super::load::Load;
use super::micro;
use super::report::{Row, mib, ms, per_sec};
use super::resend::{self, Ctx, Measured, Runs};
use super::server::Beckon;

/// Targets (issue 6).
const PG_FLOOR_SHARE: f64 = 0.8;
const SQLITE_FLOOR_SHARE: f64 = 0.6;
const P99_AT_HALF_MS: f64 = 10.0;
const PEAK_RSS_BYTES: u64 = 64 * 1024 * 1024;
const LARGE_P99_FACTOR: f64 = 1.2;
const DELIVERY_SHARE: f64 = 0.5;
const WRITE_TX_PER_MESSAGE: f64 = 0.1;

/// The small PostgreSQL run's figures: the large data set's references.
pub struct Small {
    /// wrk, one per connection count.
    pub loads: Vec<Load>,
    /// pgbench's rate, by client count.
    pub floors: Vec<(usize, f64)>,
}

/// Resends on PostgreSQL beside pgbench doing the same SQL at the same
/// concurrency on the same data. Returns the rows and the figures the
/// large data set is set beside.
pub fn postgres(ctx: &Ctx) -> anyhow::Result<(Vec<Row>, Small)> {
    let pg = Db::Postgres(PgDb::create("pg")?);
    let handle = pg.pg().context("a PostgreSQL database")?;
    let m = resend::measure(ctx, &pg, "PostgreSQL", || Ok(()), Runs::all())?;
    let mut floors = Vec::new();
    for &c in ctx.connections {
        let tps = floors::pgbench(ctx.root, handle, &m.tenant.id, c, ctx.secs)?;
        println!("PostgreSQL floor: pgbench {c} clients: {tps:.0} tps");
        floors.push((c, tps));
    }
    let rows = backend_rows(
        "PostgreSQL",
        &m,
        |c| {
            let tps = floors.iter().find(|(x, _)| *x == c).map_or(0.0, |f| f.1);
            (tps, format!("pgbench, {c} clients: {}", per_sec(tps)))
        },
        PG_FLOOR_SHARE,
    );
    Ok((
        rows,
        Small {
            loads: m.loads,
            floors,
        },
    ))
}

/// Resends on SQLite beside a loop doing the same SQL with one writer on a
/// copy of the server's database.
pub fn sqlite(ctx: &Ctx) -> anyhow::Result<Vec<Row>> {
    let file = ctx.tmp.join("resend.db");
    let db = Db::Sqlite(file.clone());
    let m = resend::measure(ctx, &db, "SQLite", || Ok(()), Runs::all())?;
    // The server has stopped, so its last connection has checkpointed the
    // WAL into the file; copy any -wal left all the same.
    let copy = ctx.tmp.join("floor.db");
    std::fs::copy(&file, &copy)?;
    let wal = ctx.tmp.join("resend.db-wal");
    if wal.exists() {
        std::fs::copy(&wal, ctx.tmp.join("floor.db-wal"))?;
    }
    let tps = floors::sqlite(ctx.root, &copy, ctx.secs)?;
    println!("SQLite floor: one writer: {tps:.0} tps");
    Ok(backend_rows(
        "SQLite",
        &m,
        |_| (tps, format!("same SQL, 1 writer: {}", per_sec(tps))),
        SQLITE_FLOOR_SHARE,
    ))
}

/// The rows of one backend's resend measurement.
fn backend_rows(
    backend: &str,
    m: &Measured,
    floor: impl Fn(usize) -> (f64, String),
    share: f64,
) -> Vec<Row> {
    let mut rows = Vec::new();
    for l in &m.loads {
        let c = l.connections;
        rows.push(Row::at_least(
            format!("{backend} resends, {c} conn"),
            (l.rps, per_sec(l.rps)),
            floor(c),
            share,
        ));
        rows.push(Row::info(
            format!("{backend} latency p50 / p99 / p99.9, {c} conn"),
            latencies(l),
        ));
        rows.push(errors(format!("{backend} errors, {c} conn"), l));
    }
    if let Some(l) = &m.delivering {
        // Beside the same floor, without a target: the floor delivers no
        // email, this run delivers every one on the same cores.
        let c = l.connections;
        let (tps, reference) = floor(c);
        rows.push(Row {
            ratio: (tps > 0.0).then(|| l.rps / tps),
            reference,
            ..Row::info(
                format!("{backend} resends while delivering, {c} conn"),
                per_sec(l.rps),
            )
        });
        rows.push(Row::info(
            format!("{backend} latency p50 / p99 / p99.9 while delivering, {c} conn"),
            latencies(l),
        ));
        rows.push(errors(
            format!("{backend} errors while delivering, {c} conn"),
            l,
        ));
    }
    if let Some((rate, l)) = &m.half {
        // A server that could not keep up with the rate queues requests,
        // and the p99 says so; name the rate it reached to make that plain.
        let shown = if l.rps < 0.95 * rate {
            format!("{} (reached {})", ms(l.p99_ms), per_sec(l.rps))
        } else {
            ms(l.p99_ms)
        };
        rows.push(Row::at_most(
            format!("{backend} p99 at half max ({rate:.0}/s, oha)"),
            (l.p99_ms, shown),
            (P99_AT_HALF_MS, ms(P99_AT_HALF_MS)),
            1.0,
            format!("≤ {P99_AT_HALF_MS} ms"),
        ));
        rows.push(errors(format!("{backend} errors at half max"), l));
    }
    rows.push(Row::at_most(
        format!("{backend} peak RSS of beckon serve"),
        (m.peak_rss as f64, mib(m.peak_rss)),
        (PEAK_RSS_BYTES as f64, mib(PEAK_RSS_BYTES)),
        1.0,
        "≤ 64 MiB",
    ));
    rows
}

fn latencies(l: &Load) -> String {
    format!("{} / {} / {}", ms(l.p50_ms), ms(l.p99_ms), ms(l.p999_ms))
}

fn errors(figure: String, l: &Load) -> Row {
    Row::zero(
        figure,
        l.non_2xx + l.socket_errors,
        format!("{} non-2xx, {} socket", l.non_2xx, l.socket_errors),
    )
}

/// The resend measurement again on PostgreSQL holding `tenants` tenants
/// and `users` users (a tenth still invited), against the small run's p99.
pub fn large(
    ctx: &Ctx,
    tenants: u64,
    users: u64,
    small: Option<&Small>,
) -> anyhow::Result<Vec<Row>> {
    let db = Db::Postgres(PgDb::create("large")?);
    let pg = db.pg().context("a PostgreSQL database")?;
    let script = ctx.root.join("xtask/bench/large.sql");
    // The benchmarked tenant and its invited users count towards the totals.
    let vars = [
        ("tenants", (tenants - 1).to_string()),
        ("users", (users - ctx.users as u64).to_string()),
    ];
    let started = std::time::Instant::now();
    let load = || {
        pg.psql_file(&script, &vars)?;
        println!(
            "large data set: {tenants} tenants, {users} users loaded in {:.0} s",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    };
    let m = resend::measure(ctx, &db, "PostgreSQL large", load, Runs::loads_only())?;
    let size = if users.is_multiple_of(1_000_000) {
        format!("{}M users", users / 1_000_000)
    } else {
        format!("{}k users", users / 1_000)
    };
    let mut rows = Vec::new();
    for l in &m.loads {
        let c = l.connections;
        let reference = small.and_then(|s| s.loads.iter().find(|x| x.connections == c));
        rows.push(match reference {
            Some(r) => Row {
                ratio: (r.rps > 0.0).then(|| l.rps / r.rps),
                reference: format!("{} users: {}", ctx.users, per_sec(r.rps)),
                ..Row::info(
                    format!("PostgreSQL {size}: resends, {c} conn"),
                    per_sec(l.rps),
                )
            },
            None => Row::info(
                format!("PostgreSQL {size}: resends, {c} conn"),
                per_sec(l.rps),
            ),
        });
        rows.push(match reference {
            Some(r) => Row::at_most(
                format!("PostgreSQL {size}: p99, {c} conn"),
                (l.p99_ms, ms(l.p99_ms)),
                (r.p99_ms, format!("{} users: {}", ctx.users, ms(r.p99_ms))),
                LARGE_P99_FACTOR,
                format!("≤ {LARGE_P99_FACTOR} × reference"),
            ),
            None => Row::info(
                format!("PostgreSQL {size}: p99, {c} conn (run with postgres for the ratio)"),
                ms(l.p99_ms),
            ),
        });
        rows.push(errors(format!("PostgreSQL {size}: errors, {c} conn"), l));
    }
    // The database's own share of the difference: pgbench's resend on the
    // large set beside the same on the small one.
    for &c in ctx.connections {
        let tps = floors::pgbench(ctx.root, pg, &m.tenant.id, c, ctx.secs)?;
        println!("PostgreSQL large floor: pgbench {c} clients: {tps:.0} tps");
        let reference = small.and_then(|s| s.floors.iter().find(|(x, _)| *x == c));
        rows.push(Row {
            ratio: reference.and_then(|(_, r)| (*r > 0.0).then(|| tps / r)),
            reference: reference.map_or_else(
                || "—".to_owned(),
                |(_, r)| format!("{} users: {}", ctx.users, per_sec(*r)),
            ),
            ..Row::info(
                format!("PostgreSQL {size}: pgbench, {c} clients"),
                per_sec(tps),
            )
        });
    }
    Ok(rows)
}

/// Delivery through the worker on both backends, beside smtp-source.
pub fn delivery(ctx: &Ctx, sink: &Sink, n: usize) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    let pg = Db::Postgres(PgDb::create("delivery")?);
    let sqlite = Db::Sqlite(ctx.tmp.join("delivery.db"));
    for db in [&pg, &sqlite] {
        let backend = db.backend();
        let beckon = Beckon::new(ctx.bin, db, sink.mailer())?;
        let d = delivery::measure(&beckon, db, sink, n)?;
        println!(
            "{backend} delivery: {n} messages at {}; smtp-source {}; write tx/message {}",
            per_sec(d.emails_per_sec),
            per_sec(d.smtp_source_per_sec),
            d.write_tx_per_message
                .map_or_else(|| "—".into(), |x| format!("{x:.3}"))
        );
        rows.push(Row::at_least(
            format!("{backend} delivery ({} emails)", d.messages),
            (d.emails_per_sec, per_sec(d.emails_per_sec)),
            (
                d.smtp_source_per_sec,
                format!(
                    "smtp-source, 16 sessions: {}",
                    per_sec(d.smtp_source_per_sec)
                ),
            ),
            DELIVERY_SHARE,
        ));
        if let Some(tx) = d.write_tx_per_message {
            rows.push(Row {
                figure: format!("{backend} write transactions per delivered email"),
                measured: format!("{tx:.3}"),
                reference: "—".into(),
                ratio: None,
                target: format!("≤ {WRITE_TX_PER_MESSAGE}"),
                pass: Some(tx <= WRITE_TX_PER_MESSAGE),
            });
        }
    }
    Ok(rows)
}

/// The criterion benches of the crates that have them.
pub fn micro(root: &Path, quick: bool) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for m in &micro::FIGURES {
        let mut ran = false;
        for place in m.places {
            let targets = place.targets(root);
            if targets.is_empty() {
                continue;
            }
            ran = true;
            let found = place.run(root, &targets, quick)?;
            if found.is_empty() {
                rows.push(Row::info(m.figure, "ran, but printed no criterion figure"));
            }
            for (name, micros) in found {
                let figure = format!("{}: {name}", m.figure);
                rows.push(match m.target_us {
                    Some(most) => Row::at_most(
                        figure,
                        (micros, micros_shown(micros)),
                        (most, micros_shown(most)),
                        1.0,
                        format!("≤ {most} µs"),
                    ),
                    None => Row::info(figure, micros_shown(micros)),
                });
            }
        }
        if !ran {
            rows.push(Row::info(m.figure, "not measured (no bench target yet)"));
        }
    }
    Ok(rows)
}

/// Three significant digits or so: authorization can take well under 1 µs.
fn micros_shown(v: f64) -> String {
    if v < 1.0 {
        format!("{v:.3} µs")
    } else if v < 100.0 {
        format!("{v:.2} µs")
    } else {
        format!("{v:.0} µs")
    }
}
