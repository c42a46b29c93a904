//! Configuration (CONTRACT §3): environment variables, optionally a TOML file
//! named by `BECKON_CONFIG` with the same settings; the environment wins.
//! Parsed once at start; an invalid value stops the process with a message
//! naming the variable.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Every setting, typed. `Debug` is written by hand: it masks the
/// database URL's password and the mailer URL's credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// `BECKON_DATABASE_URL`.
    pub database_url: String,
    /// `BECKON_DATABASE_MAX_CONNECTIONS`: pool size.
    pub database_max_connections: u32,
    /// `BECKON_DATABASE_ACQUIRE_TIMEOUT`: how long a request waits for a
    /// connection before answering 503.
    pub database_acquire_timeout: Duration,
    /// `BECKON_LISTEN`.
    pub listen: SocketAddr,
    /// `BECKON_MAILER`.
    pub mailer: String,
    /// `BECKON_MAIL_FROM`.
    pub mail_from: String,
    /// `BECKON_ACCEPT_URL`.
    pub accept_url: String,
    /// `BECKON_INVITE_TTL`.
    pub invite_ttl: Duration,
    /// `BECKON_RESEND_COOLDOWN`.
    pub resend_cooldown: Duration,
    /// `BECKON_RESEND_DAILY_LIMIT`.
    pub resend_daily_limit: u32,
    /// `BECKON_POLICY_DIR`; `None` means the built-in policies.
    pub policy_dir: Option<PathBuf>,
    /// `BECKON_LOG`.
    pub log: String,
    /// `BECKON_LOG_FORMAT`.
    pub log_format: LogFormat,
    /// `BECKON_METRICS_LISTEN`: where `GET /metrics` is served; `None`
    /// (`off`) serves no metrics.
    pub metrics_listen: Option<SocketAddr>,
    /// `BECKON_RETENTION`: audit lines, delivered or failed emails and
    /// expired idempotency records older than this are pruned (at least
    /// 1d: the daily cap and idempotency need the last 24 hours).
    pub retention: Duration,
}

/// How log lines are written (`BECKON_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `text`: one human-readable line an event.
    Text,
    /// `json`: one JSON object a line.
    Json,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured so that a new field cannot be forgotten here.
        let Self {
            database_url,
            database_max_connections,
            database_acquire_timeout,
            listen,
            mailer,
            mail_from,
            accept_url,
            invite_ttl,
            resend_cooldown,
            resend_daily_limit,
            policy_dir,
            log,
            log_format,
            metrics_listen,
            retention,
        } = self;
        f.debug_struct("Config")
            .field("database_url", &redact_url(database_url))
            .field("database_max_connections", database_max_connections)
            .field("database_acquire_timeout", database_acquire_timeout)
            .field("listen", listen)
            .field("mailer", &redact_url(mailer))
            .field("mail_from", mail_from)
            .field("accept_url", accept_url)
            .field("invite_ttl", invite_ttl)
            .field("resend_cooldown", resend_cooldown)
            .field("resend_daily_limit", resend_daily_limit)
            .field("policy_dir", policy_dir)
            .field("log", log)
            .field("log_format", log_format)
            .field("metrics_listen", metrics_listen)
            .field("retention", retention)
            .finish()
    }
}

/// What a masked secret prints as.
const MASK: &str = "***";

/// `url` fit to print: the password of its user info becomes `***`
/// (`postgres://beckon:***@db/x`), and for `smtp://`/`smtps://` the whole
/// user info does (`smtp://***@host:587`), the user name being a login too;
/// a `password`-like query parameter keeps its name only. A URL without
/// credentials is unchanged.
///
/// Errs on the side of masking: the user info ends at the *last* `@`, as a
/// password may hold an unencoded `@` or `/`. A value that is not a URL but
/// holds an `@` is masked whole.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return if url.contains('@') {
            MASK.to_owned()
        } else {
            url.to_owned()
        };
    };
    let hide_user = ["smtp", "smtps"]
        .iter()
        .any(|s| scheme.eq_ignore_ascii_case(s));
    let (userinfo, after) = match rest.rsplit_once('@') {
        Some((u, a)) => (Some(u), a),
        None => (None, rest),
    };
    let mut out = format!("{scheme}://");
    match userinfo {
        Some(_) if hide_user => out.push_str(MASK),
        Some(u) => match u.split_once(':') {
            Some((user, _)) => {
                out.push_str(user);
                out.push(':');
                out.push_str(MASK);
            }
            None => out.push_str(u),
        },
        None => {}
    }
    if userinfo.is_some() {
        out.push('@');
    }
    match after.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            let params: Vec<String> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some((k, _)) if k.to_ascii_lowercase().contains("pass") => {
                        format!("{k}={MASK}")
                    }
                    _ => param.to_owned(),
                })
                .collect();
            out.push_str(&params.join("&"));
        }
        None => out.push_str(after),
    }
    out
}

/// A setting that could not be used; the message names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    /// e.g. `BECKON_INVITE_TTL`.
    pub variable: String,
    /// What is wrong with it.
    pub message: String,
}

fn err(variable: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable: variable.to_owned(),
        message: message.into(),
    }
}

/// Settings and their defaults, in one table so the file and the
/// environment accept exactly the same names.
const SETTINGS: &[(&str, &str)] = &[
    ("DATABASE_URL", "sqlite://beckon.db"),
    ("DATABASE_MAX_CONNECTIONS", "10"),
    ("DATABASE_ACQUIRE_TIMEOUT", "5s"),
    ("LISTEN", "127.0.0.1:8080"),
    ("MAILER", "file://./mail"),
    ("MAIL_FROM", "Beckon <no-reply@localhost>"),
    ("ACCEPT_URL", "http://127.0.0.1:8080/invite?token={token}"),
    ("INVITE_TTL", "7d"),
    ("RESEND_COOLDOWN", "60s"),
    ("RESEND_DAILY_LIMIT", "5"),
    ("POLICY_DIR", ""),
    ("LOG", "info"),
    ("LOG_FORMAT", "text"),
    ("METRICS_LISTEN", "127.0.0.1:9464"),
    ("RETENTION", "90d"),
];

impl Config {
    /// Reads the process environment (and the file it names).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Reads the given variables (and the file `BECKON_CONFIG` names).
    pub fn from_vars(env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut values: HashMap<&str, String> = SETTINGS
            .iter()
            .map(|(k, d)| (*k, (*d).to_owned()))
            .collect();
        if let Some(path) = env.get("BECKON_CONFIG").filter(|p| !p.is_empty()) {
            for (key, value) in read_file(path)? {
                let Some((name, _)) = SETTINGS.iter().find(|(k, _)| k.eq_ignore_ascii_case(&key))
                else {
                    return Err(err(
                        "BECKON_CONFIG",
                        format!("{path}: unknown setting `{key}`"),
                    ));
                };
                values.insert(name, value);
            }
        }
        for (name, _) in SETTINGS {
            if let Some(v) = env.get(&format!("BECKON_{name}")) {
                values.insert(name, v.clone());
            }
        }
        let get = |name: &str| values.get(name).cloned().unwrap_or_default();
        let var = |name: &str| format!("BECKON_{name}");

        let listen = get("LISTEN")
            .parse()
            .map_err(|_| err(&var("LISTEN"), "not an address like 127.0.0.1:8080"))?;
        let database_url = get("DATABASE_URL");
        if database_url.trim().is_empty() {
            return Err(err(&var("DATABASE_URL"), "must not be empty"));
        }
        let max_conn: u32 = get("DATABASE_MAX_CONNECTIONS")
            .parse()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| {
                err(
                    &var("DATABASE_MAX_CONNECTIONS"),
                    "must be a whole number from 1 to 1000",
                )
            })?;
        let acquire = duration(
            &var("DATABASE_ACQUIRE_TIMEOUT"),
            &get("DATABASE_ACQUIRE_TIMEOUT"),
        )?;
        if acquire.is_zero() {
            return Err(err(
                &var("DATABASE_ACQUIRE_TIMEOUT"),
                "must be more than 0s",
            ));
        }
        let invite_ttl = duration(&var("INVITE_TTL"), &get("INVITE_TTL"))?;
        if invite_ttl.is_zero() {
            return Err(err(&var("INVITE_TTL"), "must be more than 0s"));
        }
        let daily: u32 = get("RESEND_DAILY_LIMIT").parse().map_err(|_| {
            err(
                &var("RESEND_DAILY_LIMIT"),
                "must be a whole number (0 turns it off)",
            )
        })?;
        let log_format = match get("LOG_FORMAT").as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(err(
                    &var("LOG_FORMAT"),
                    format!("{other:?} is neither text nor json"),
                ));
            }
        };
        let metrics_listen = match get("METRICS_LISTEN").as_str() {
            "off" => None,
            addr => Some(addr.parse().map_err(|_| {
                err(
                    &var("METRICS_LISTEN"),
                    "not an address like 127.0.0.1:9464 (or off)",
                )
            })?),
        };
        let retention = duration(&var("RETENTION"), &get("RETENTION"))?;
        if retention < Duration::from_secs(24 * 3600) {
            // The daily cap and idempotency need the last 24 hours.
            return Err(err(&var("RETENTION"), "must be at least 1d"));
        }
        let policy_dir = Some(get("POLICY_DIR"))
            .filter(|p| !p.is_empty())
            .map(PathBuf::from);
        Ok(Self {
            database_url,
            database_max_connections: max_conn,
            database_acquire_timeout: acquire,
            listen,
            mailer: get("MAILER"),
            mail_from: get("MAIL_FROM"),
            accept_url: get("ACCEPT_URL"),
            invite_ttl,
            resend_cooldown: duration(&var("RESEND_COOLDOWN"), &get("RESEND_COOLDOWN"))?,
            resend_daily_limit: daily,
            policy_dir,
            log: get("LOG"),
            log_format,
            metrics_listen,
            retention,
        })
    }
}

/// The TOML file: a flat table of strings or integers.
fn read_file(path: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| err("BECKON_CONFIG", format!("cannot read {path}: {e}")))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| err("BECKON_CONFIG", format!("{path}: not valid TOML: {e}")))?;
    table
        .into_iter()
        .map(|(k, v)| match v {
            toml::Value::String(s) => Ok((k, s)),
            toml::Value::Integer(i) => Ok((k, i.to_string())),
            _ => Err(err(
                "BECKON_CONFIG",
                format!("{path}: `{k}` must be a string or an integer"),
            )),
        })
        .collect()
}

/// `90s`, `15m`, `12h`, `7d` (a whole number and one unit).
pub fn duration(variable: &str, raw: &str) -> Result<Duration, ConfigError> {
    let bad = || {
        err(
            variable,
            format!("{raw:?} is not a duration like 90s, 15m, 12h or 7d"),
        )
    };
    let raw_t = raw.trim();
    let split = raw_t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (digits, unit) = raw_t.split_at(split);
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        "d" => n.checked_mul(86_400),
        _ => None,
    }
    .filter(|s| *s <= 10 * 365 * 86_400)
    .ok_or_else(bad)?;
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_are_the_contracts() {
        let c = Config::from_vars(&HashMap::new()).unwrap();
        assert_eq!(c.database_url, "sqlite://beckon.db");
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.mailer, "file://./mail");
        assert_eq!(c.mail_from, "Beckon <no-reply@localhost>");
        assert_eq!(c.accept_url, "http://127.0.0.1:8080/invite?token={token}");
        assert_eq!(c.invite_ttl, Duration::from_secs(7 * 86_400));
        assert_eq!(c.resend_cooldown, Duration::from_secs(60));
        assert_eq!(c.resend_daily_limit, 5);
        assert_eq!(c.policy_dir, None);
        assert_eq!(c.log, "info");
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(
            c.metrics_listen.map(|a| a.to_string()).as_deref(),
            Some("127.0.0.1:9464")
        );
        assert_eq!(c.retention, Duration::from_secs(90 * 86_400));
    }

    #[test]
    fn retention_is_a_duration_of_at_least_a_day() {
        let c = Config::from_vars(&vars(&[("BECKON_RETENTION", "30d")])).unwrap();
        assert_eq!(c.retention, Duration::from_secs(30 * 86_400));
        for bad in ["12h", "soon", "0s"] {
            let e = Config::from_vars(&vars(&[("BECKON_RETENTION", bad)])).unwrap_err();
            assert_eq!(e.variable, "BECKON_RETENTION", "{bad}");
        }
    }

    #[test]
    fn the_log_format_is_text_or_json() {
        for (raw, format) in [("text", LogFormat::Text), ("json", LogFormat::Json)] {
            let c = Config::from_vars(&vars(&[("BECKON_LOG_FORMAT", raw)])).unwrap();
            assert_eq!(c.log_format, format);
        }
    }

    #[test]
    fn metrics_listen_takes_an_address_or_off() {
        let c = Config::from_vars(&vars(&[("BECKON_METRICS_LISTEN", "0.0.0.0:9100")])).unwrap();
        assert_eq!(c.metrics_listen, Some("0.0.0.0:9100".parse().unwrap()));
        let c = Config::from_vars(&vars(&[("BECKON_METRICS_LISTEN", "off")])).unwrap();
        assert_eq!(c.metrics_listen, None);
    }

    #[test]
    fn durations_take_one_number_and_one_unit() {
        assert_eq!(duration("X", "90s").unwrap(), Duration::from_secs(90));
        assert_eq!(duration("X", "15m").unwrap(), Duration::from_secs(900));
        assert_eq!(duration("X", "12h").unwrap(), Duration::from_secs(43_200));
        assert_eq!(duration("X", "0s").unwrap(), Duration::ZERO);
        for bad in ["", "7", "d", "7x", "1h30m", "-5s", "1.5h", "99999999999d"] {
            assert!(duration("X", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_invalid_value_names_its_variable() {
        for (name, value) in [
            ("BECKON_INVITE_TTL", "7 days"),
            ("BECKON_INVITE_TTL", "0s"),
            ("BECKON_RESEND_COOLDOWN", "soon"),
            ("BECKON_RESEND_DAILY_LIMIT", "-1"),
            ("BECKON_LISTEN", "localhost"),
            ("BECKON_DATABASE_MAX_CONNECTIONS", "0"),
            ("BECKON_DATABASE_ACQUIRE_TIMEOUT", "0s"),
            ("BECKON_DATABASE_URL", ""),
            ("BECKON_LOG_FORMAT", "JSON"),
            ("BECKON_LOG_FORMAT", "logfmt"),
            ("BECKON_LOG_FORMAT", ""),
            ("BECKON_METRICS_LISTEN", "localhost:9464"),
            ("BECKON_METRICS_LISTEN", "9464"),
            ("BECKON_METRICS_LISTEN", ""),
            ("BECKON_METRICS_LISTEN", "OFF"),
        ] {
            let e = Config::from_vars(&vars(&[(name, value)])).unwrap_err();
            assert_eq!(e.variable, name, "{value:?}");
            assert!(e.to_string().starts_with(name));
        }
    }

    #[test]
    fn the_file_is_read_and_the_environment_wins_over_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("beckon.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9999\"\nresend_daily_limit = 9\ninvite_ttl = \"2d\"\n",
        )
        .unwrap();
        let p = path.to_str().unwrap();
        let c =
            Config::from_vars(&vars(&[("BECKON_CONFIG", p), ("BECKON_INVITE_TTL", "3h")])).unwrap();
        assert_eq!(c.listen.port(), 9999);
        assert_eq!(c.resend_daily_limit, 9);
        assert_eq!(c.invite_ttl, Duration::from_secs(3 * 3600));
    }

    #[test]
    fn a_bad_file_is_reported_as_beckon_config() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("beckon.toml");
        for text in [
            "not toml at all [",
            "unknown_key = \"x\"",
            "listen = [1, 2]",
        ] {
            std::fs::write(&path, text).unwrap();
            let e =
                Config::from_vars(&vars(&[("BECKON_CONFIG", path.to_str().unwrap())])).unwrap_err();
            assert_eq!(e.variable, "BECKON_CONFIG", "{text}");
        }
        let e =
            Config::from_vars(&vars(&[("BECKON_CONFIG", "/nonexistent/beckon.toml")])).unwrap_err();
        assert_eq!(e.variable, "BECKON_CONFIG");
    }

    #[test]
    fn redact_url_masks_the_password_and_keeps_the_rest() {
        for (url, shown) in [
            (
                "postgres://beckon:hunter2@db/x",
                "postgres://beckon:***@db/x",
            ),
            (
                "postgresql://beckon:hun@ter/2@db:5433/x?sslmode=require",
                "postgresql://beckon:***@db:5433/x?sslmode=require",
            ),
            (
                "postgres://db/x?user=beckon&password=hunter2&sslpassword=hunter2",
                "postgres://db/x?user=beckon&password=***&sslpassword=***",
            ),
            // No password: nothing to mask.
            (
                "postgres://postgres@127.0.0.1:5432/postgres",
                "postgres://postgres@127.0.0.1:5432/postgres",
            ),
            ("sqlite://beckon.db", "sqlite://beckon.db"),
            ("sqlite::memory:", "sqlite::memory:"),
            // SMTP: the user name is a login as well.
            (
                "smtp://mailer%40example.com:hunter2@smtp.example.com:587?tls=required",
                "smtp://***@smtp.example.com:587?tls=required",
            ),
            (
                "SMTPS://u:hunter2@smtp.example.com",
                "SMTPS://***@smtp.example.com",
            ),
            ("file://./mail", "file://./mail"),
            // Not a URL, yet it may hold credentials.
            ("beckon:hunter2@db", "***"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn debug_shows_no_database_password_and_no_smtp_credentials() {
        let c = Config::from_vars(&vars(&[
            ("BECKON_DATABASE_URL", "postgres://beckon:hunter2@db/x"),
            (
                "BECKON_MAILER",
                "smtps://mailuser:s3cr%40t@smtp.example.com:465",
            ),
        ]))
        .unwrap();
        // The values are kept as given: only their printing is masked.
        assert_eq!(c.database_url, "postgres://beckon:hunter2@db/x");
        for text in [format!("{c:?}"), format!("{c:#?}")] {
            for secret in ["hunter2", "s3cr", "mailuser"] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
            for shown in [
                "postgres://beckon:***@db/x",
                "smtps://***@smtp.example.com:465",
                "127.0.0.1:8080",
                "Beckon <no-reply@localhost>",
                "invite_ttl",
                "log",
            ] {
                assert!(text.contains(shown), "{shown} not in {text}");
            }
        }
    }
}
