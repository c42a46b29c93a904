//! The databases a run creates: a fresh PostgreSQL database per measurement
//! (dropped again even on error) or a SQLite file in the run's temporary
//! folder, and the SQL the harness itself runs on them.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, anyhow};
use diesel::connection::SimpleConnection;
use diesel::sql_types::BigInt;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection, sql_query};

use super::sys;

/// Where the PostgreSQL the benchmark uses is, unless
/// `BECKON_TEST_DATABASE_URL` says otherwise (as for the tests).
const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Beckon's SQLite connection settings (crates/store-diesel: WAL, NORMAL
/// sync, 5 s busy timeout, foreign keys on, secure delete), for the harness's own
/// connections so they behave like the server's.
pub const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;";

/// One database of the run.
pub enum Db {
    Sqlite(PathBuf),
    Postgres(PgDb),
}

impl Db {
    /// The `BECKON_DATABASE_URL` for it.
    pub fn url(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres(pg) => pg.url.clone(),
        }
    }

    /// The backend's name for the table.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "SQLite",
            Self::Postgres(_) => "PostgreSQL",
        }
    }

    /// The PostgreSQL database, if it is one.
    pub fn pg(&self) -> Option<&PgDb> {
        match self {
            Self::Postgres(pg) => Some(pg),
            Self::Sqlite(_) => None,
        }
    }

    /// Runs SQL that returns one number (a count) and reads it.
    pub fn count(&self, sql: &str) -> anyhow::Result<i64> {
        match self {
            Self::Postgres(pg) => pg.scalar(sql),
            Self::Sqlite(path) => {
                #[derive(QueryableByName)]
                struct N {
                    #[diesel(sql_type = BigInt)]
                    n: i64,
                }
                let mut c = sqlite(path)?;
                let row: N = sql_query(format!("SELECT ({sql}) AS n")).get_result(&mut c)?;
                Ok(row.n)
            }
        }
    }

    /// Runs statements that return nothing.
    pub fn execute(&self, sql: &str) -> anyhow::Result<()> {
        match self {
            Self::Postgres(pg) => pg.psql(sql).map(drop),
            Self::Sqlite(path) => Ok(sqlite(path)?.batch_execute(sql)?),
        }
    }
}

/// Opens a SQLite file with Beckon's settings.
pub fn sqlite(path: &Path) -> anyhow::Result<SqliteConnection> {
    let mut c = SqliteConnection::establish(&path.to_string_lossy())
        .with_context(|| format!("opening {}", path.display()))?;
    c.batch_execute(SQLITE_PRAGMAS)?;
    Ok(c)
}

/// A PostgreSQL database created for one measurement; dropped (with
/// `FORCE`, so a leftover connection cannot keep it) when this is dropped.
pub struct PgDb {
    pub url: String,
    admin: String,
    name: String,
}

impl PgDb {
    /// The PostgreSQL server's version, for the table's context.
    pub fn server_version() -> anyhow::Result<String> {
        Ok(psql(&admin_url(), "SHOW server_version")?.trim().to_owned())
    }

    /// Creates `beckon_bench_<pid>_<label>`.
    pub fn create(label: &str) -> anyhow::Result<Self> {
        let admin = admin_url();
        let name = format!("beckon_bench_{}_{label}", std::process::id());
        let base = admin
            .rsplit_once('/')
            .map(|(base, _)| base)
            .ok_or_else(|| anyhow!("BECKON_TEST_DATABASE_URL has no database part"))?;
        let url = format!("{base}/{name}");
        psql(
            &admin,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )?;
        psql(&admin, &format!("CREATE DATABASE {name}"))?;
        Ok(Self { url, admin, name })
    }

    /// Runs SQL with psql (unaligned, tuples only) and returns its output.
    pub fn psql(&self, sql: &str) -> anyhow::Result<String> {
        psql(&self.url, sql)
    }

    /// Runs a psql script file with `-v name=value` variables.
    pub fn psql_file(&self, file: &Path, vars: &[(&str, String)]) -> anyhow::Result<()> {
        let mut cmd = Command::new("psql");
        cmd.args([self.url.as_str(), "-qAt", "-v", "ON_ERROR_STOP=1", "-f"])
            .arg(file);
        for (k, v) in vars {
            cmd.args(["-v", &format!("{k}={v}")]);
        }
        sys::output(&mut cmd).map(drop)
    }

    /// Runs SQL that returns one integer on the server's maintenance
    /// database, where reading this database's statistics does not add to
    /// them.
    pub fn admin_scalar(&self, sql: &str) -> anyhow::Result<i64> {
        let out = psql(&self.admin, sql)?;
        out.trim()
            .parse()
            .with_context(|| format!("{sql:?} returned {out:?}"))
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs SQL that returns one integer.
    pub fn scalar(&self, sql: &str) -> anyhow::Result<i64> {
        let out = self.psql(sql)?;
        out.trim()
            .parse()
            .with_context(|| format!("{sql:?} returned {out:?}"))
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let dropped = psql(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
        if let Err(e) = dropped {
            eprintln!("could not drop database {}: {e:#}", self.name);
        }
    }
}

fn admin_url() -> String {
    std::env::var("BECKON_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_ADMIN_URL.to_owned())
}

fn psql(url: &str, sql: &str) -> anyhow::Result<String> {
    sys::stdout(Command::new("psql").args([url, "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql]))
}
