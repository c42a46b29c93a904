//! Reading what a `file://` mailer delivered: one `<outbox-id>.eml` per
//! message. Included by the test binaries that run the app on their own.

#![allow(dead_code)] // each test binary uses a part of it

use std::path::{Path, PathBuf};

/// The delivered messages in `dir` (temporary `.…tmp` files excluded).
pub fn emails(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .filter(|p| !stem(p).starts_with('.'))
        .collect()
}

/// A file's name without `.eml`: the outbox id.
pub fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The address in a message's `To` header.
pub fn recipient(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let head = text.split("\r\n\r\n").next().unwrap_or(&text);
    let to = head.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.eq_ignore_ascii_case("To").then(|| v.trim().to_owned())
    })?;
    Some(match (to.rfind('<'), to.rfind('>')) {
        (Some(a), Some(b)) if a < b => to[a + 1..b].to_owned(),
        _ => to,
    })
}

/// How many messages in `dir` are addressed to `addr`.
pub fn count_to(dir: &Path, addr: &str) -> usize {
    emails(dir)
        .iter()
        .filter(|p| recipient(p).is_some_and(|r| r.eq_ignore_ascii_case(addr)))
        .count()
}
