//! Running the real `beckon` binary from a test: a command with none of the
//! test's own `BECKON_*` settings, an admin command's JSON answer, a free
//! port. Included by the test binaries that start the app themselves.

#![allow(dead_code)] // each test binary uses a part of it

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// `beckon ARGS` in `dir` on the database at `url`, logging warnings only,
/// with no inherited `BECKON_*` setting.
pub fn beckon(url: &str, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_beckon"));
    for (k, _) in std::env::vars() {
        if k.starts_with("BECKON_") {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(dir)
        .env("BECKON_DATABASE_URL", url)
        .env("BECKON_LOG", "warn")
        .args(args);
    cmd
}

/// Runs an admin command, which must succeed, and returns the JSON object
/// it prints.
pub fn admin(url: &str, dir: &Path, args: &[&str]) -> Value {
    let out = beckon(url, dir, args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
