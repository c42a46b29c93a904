//! `cargo xtask ci` runs what `.ci/run` runs, and stops at the first failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

fn env() -> Env {
    Env {
        cargo: "cargo".into(),
        target_dir: None,
        database_url: DEFAULT_TEST_DATABASE_URL.to_owned(),
    }
}

fn shell(script: &str) -> Step {
    Step::run("sh", &["-c", script])
}

#[test]
fn the_steps_run_the_commands_of_ci_run_in_its_order() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let script = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    // The script's command lines (its checks of PostgreSQL sit inside `if`
    // and `||` and are compared by name below).
    let from_script: Vec<&str> = script
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("cargo ") || l.starts_with("python3 "))
        .collect();
    let shown: Vec<String> = steps(root, &env()).iter().map(Step::display).collect();
    let ours: Vec<&str> = shown
        .iter()
        .map(String::as_str)
        .filter(|s| s.starts_with("cargo ") || s.starts_with("python3 "))
        .collect();
    assert_eq!(
        ours, from_script,
        ".ci/run and xtask/src/ci.rs disagree: update the steps in ci.rs"
    );
    assert!(shown[0].starts_with("pg_isready ") && script.contains("pg_isready -d"));
    assert!(shown[1].starts_with("psql ") && script.contains("psql \"$BECKON_TEST_DATABASE_URL\""));
    assert!(script.contains(DEFAULT_TEST_DATABASE_URL));
    let venv = shown.iter().position(|s| s == "cargo xtask smtp-venv");
    let test = shown.iter().position(|s| s == "cargo test --workspace");
    assert!(
        venv.is_some() && venv < test,
        "the SMTP venv is made before the tests"
    );
    assert!(script.contains("export BECKON_TEST_SMTP_PYTHON=\"$PWD/.venv-smtp/bin/python\""));
    let cvc5 = shown.iter().position(|s| s == "cargo xtask cvc5");
    assert!(
        cvc5.is_some() && cvc5 < test,
        "the solver is installed before the tests"
    );
    let release = shown
        .iter()
        .position(|s| s == "cargo build --release -p beckon");
    let verify = shown.iter().position(|s| s.ends_with(" policy verify"));
    assert!(
        release.is_some() && release < verify,
        "the policies are verified by the release build"
    );
    let schemathesis = shown.iter().position(|s| s == "cargo xtask schemathesis");
    assert!(
        release.is_some() && release < schemathesis,
        "schemathesis runs against the release build"
    );
}

#[test]
fn the_smoke_test_runs_the_binary_the_release_build_made() {
    let root = Path::new("/w");
    assert_eq!(
        release_binary(root, None),
        Path::new("target/release/beckon")
    );
    assert_eq!(
        release_binary(root, Some("/t/x".into())),
        Path::new("/t/x/release/beckon")
    );
    assert_eq!(
        release_binary(root, Some("out".into())),
        Path::new("/w/out/release/beckon")
    );
}

#[test]
fn a_failing_step_stops_the_run_with_its_exit_code() {
    let dir = std::env::temp_dir().join(format!("xtask-ci-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = "postgres://example/db";
    let steps = [
        shell("test \"$BECKON_TEST_DATABASE_URL\" = postgres://example/db"),
        shell("test \"$BECKON_TEST_SMTP_PYTHON\" = \"$PWD/.venv-smtp/bin/python\""),
        shell("exit 3"),
        shell("touch ran"),
    ];
    assert_eq!(run_steps(&dir, &steps, url), 3);
    assert!(!dir.join("ran").exists(), "a step after the failure ran");
    assert_eq!(
        run_steps(&dir, &[shell("true"), shell("touch ran")], url),
        0
    );
    assert!(dir.join("ran").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_program_that_cannot_start_fails_the_run() {
    let missing = Step::run("/nonexistent/xtask-no-such-program", &[]);
    assert_eq!(run_steps(Path::new("/"), &[missing, shell("true")], "x"), 1);
}
