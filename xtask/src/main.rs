//! Beckon's project tasks, run as `cargo xtask <task>` (alias in
//! `.cargo/config.toml`).
#![forbid(unsafe_code)]

mod bench;
mod chromium;
mod ci;
mod cvc5;
mod deny;
mod fuzz;
mod ladder;
mod schemathesis;
mod smtp_venv;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  bench      measure a release build on this machine: resends (wrk, oha)
             beside the database floors (pgbench, an in-process SQLite
             loop), a 1M-user data set, delivery beside smtp-source; print
             one table and write it to docs/benchmarks.md (options: --quick,
             --only postgres|sqlite|large|delivery|micro, --duration SECS)
  deny       supply-chain checks of deny.toml with the pinned cargo-deny
             (installed when missing): bans, licenses, sources; then
             advisories if the RustSec database can be fetched, else a
             loud note that they were not checked (BECKON_DENY_ADVISORIES=1
             makes that a failure)
  fuzz       build the cargo-fuzz targets in fuzz/ (the parsers of untrusted
             text) and run each for N seconds (--seconds N, default 20) with
             the pinned cargo-fuzz (installed when missing) and
             RUSTC_BOOTSTRAP=1; fails if the install or build fails or any
             target crashes (the input lands in fuzz/artifacts/<target>/)
  ladder     check the dependency ladder (manifests, and framework names in
             the source of beckon-ports and beckon-domain)
  schemathesis
             start target/release/beckon (or --binary PATH) on a fresh SQLite
             database on 127.0.0.1 and run the pinned schemathesis (in
             .venv-schemathesis/, made when missing) against /openapi.json:
             every phase, every check, at least 1,000 requests, at most 5
             minutes; fails on any failure (options: --max-examples N,
             --seed N)
  smtp-venv  create .venv-smtp/ with the pinned aiosmtpd the SMTP tests run
             their test server with and the prometheus_client the metrics
             test parses /metrics with (quick when already there); point
             BECKON_TEST_SMTP_PYTHON at .venv-smtp/bin/python to run them
  cvc5       make sure the cvc5 SMT solver runs (CVC5, or cvc5 on PATH), as
             `beckon policy verify` and its tests need; when missing, install
             Debian's package with apt-get (as root)
  chromium   make sure /usr/bin/chromium and /usr/bin/chromedriver exist,
             as the browser tests need; when missing, install Debian's
             chromium and chromium-driver with apt-get (as root)
  ci         run what .ci/run runs, in order: PostgreSQL check, fmt, clippy,
             ladder, SMTP test server venv, cvc5, chromium, tests (with
             BECKON_TEST_SMTP_PYTHON set), release build, policy verify,
             contract smoke";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    match args.first().map(String::as_str) {
        Some("bench") => report(bench::run(&root, &args[1..])),
        Some("deny") if args.len() == 1 => report(deny::run(&root)),
        Some("fuzz") => report(fuzz::run(&root, &args[1..])),
        Some("ladder") if args.len() == 1 => report(ladder::run(&root)),
        Some("schemathesis") => report(schemathesis::run(&root, &args[1..])),
        Some("smtp-venv") if args.len() == 1 => report(smtp_venv::run(&root)),
        Some("cvc5") if args.len() == 1 => report(cvc5::run()),
        Some("chromium") if args.len() == 1 => report(chromium::run()),
        Some("ci") if args.len() == 1 => ci::run(&root),
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// The workspace root: the folder above this crate's.
fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
