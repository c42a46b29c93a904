//! The `BECKON_CONFIG` TOML file, through `Config::from_vars` exactly as the
//! server reads it: never panics; a refused file is reported as
//! `BECKON_CONFIG` or as the setting it names; an accepted configuration
//! holds the bounds `from_vars` promises, and its `Debug` (which masks
//! URLs) does not panic.
#![no_main]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use beckon_fuzz::config::Config;
use libfuzzer_sys::fuzz_target;

/// One file per fuzzing process, written for every input and removed after.
fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        // Memory-backed when there is one: a write per input to a disk-backed
        // /tmp caps the rate at about a thousand inputs a second.
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("beckon-fuzz-config-{}.toml", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let path = path();
    std::fs::write(path, data).expect("write the config file");
    let env: HashMap<String, String> = [(
        "BECKON_CONFIG".to_owned(),
        path.to_str().expect("UTF-8 temp path").to_owned(),
    )]
    .into();
    let result = Config::from_vars(&env);
    // Left behind only when an input crashes the target.
    let _ = std::fs::remove_file(path);
    match result {
        Ok(c) => {
            assert!(std::str::from_utf8(data).is_ok());
            assert!((1..=1000).contains(&c.database_max_connections));
            assert!(!c.database_url.trim().is_empty());
            assert!(c.database_acquire_timeout > Duration::ZERO);
            assert!(c.invite_ttl > Duration::ZERO);
            let ten_years = Duration::from_secs(10 * 365 * 86_400);
            for d in [c.database_acquire_timeout, c.invite_ttl, c.resend_cooldown] {
                assert!(d <= ten_years);
            }
            let _ = format!("{c:?}");
        }
        Err(e) => assert!(
            e.variable == "BECKON_CONFIG" || e.variable.starts_with("BECKON_"),
            "{e:?}"
        ),
    }
});
