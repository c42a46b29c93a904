//! Reading what the file mailer delivered: messages, recipients, tokens.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Caller, TestApp};

impl TestApp {
    /// Every delivered message, in no particular order.
    pub fn emails(&self) -> Vec<PathBuf> {
        let Ok(dir) = std::fs::read_dir(&self.mail_dir) else {
            return Vec::new();
        };
        dir.filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .filter(|p| !file_name(p).starts_with('.'))
            .collect()
    }

    /// Waits until at least `n` messages exist.
    pub async fn wait_for_emails(&self, n: usize, timeout: Duration) -> Vec<PathBuf> {
        poll(timeout, || {
            let found = self.emails();
            (found.len() >= n).then_some(found)
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "fewer than {n} emails after {timeout:?}: {:?}",
                self.emails()
            )
        })
    }

    /// The messages addressed to `addr`.
    pub fn emails_to(&self, addr: &str) -> Vec<PathBuf> {
        self.emails()
            .into_iter()
            .filter(|p| recipient(p).is_some_and(|r| r.eq_ignore_ascii_case(addr)))
            .collect()
    }

    /// Waits until at least `n` messages to `addr` exist.
    pub async fn wait_for_emails_to(&self, addr: &str, n: usize) -> Vec<PathBuf> {
        poll(MAIL_TIMEOUT, || {
            let found = self.emails_to(addr);
            (found.len() >= n).then_some(found)
        })
        .await
        .unwrap_or_else(|| panic!("fewer than {n} emails to {addr}"))
    }

    /// Waits for `n` messages to `addr`, lets the worker run a few more
    /// rounds, and asserts that no more arrived.
    pub async fn assert_emails_to(&self, addr: &str, n: usize) -> Vec<PathBuf> {
        if n > 0 {
            self.wait_for_emails_to(addr, n).await;
        }
        tokio::time::sleep(SETTLE).await;
        let found = self.emails_to(addr);
        assert_eq!(found.len(), n, "emails to {addr}");
        found
    }

    /// The tokens of every message to `addr`.
    pub fn tokens_to(&self, addr: &str) -> Vec<String> {
        self.emails_to(addr)
            .iter()
            .map(|p| token_from_email(p))
            .collect()
    }

    /// Waits for the `n`-th message to `addr` and returns the token that
    /// none of `known` is.
    pub async fn new_token(&self, addr: &str, n: usize, known: &[String]) -> String {
        self.wait_for_emails_to(addr, n).await;
        let fresh: Vec<String> = self
            .tokens_to(addr)
            .into_iter()
            .filter(|t| !known.contains(t))
            .collect();
        assert_eq!(fresh.len(), 1, "exactly one new token to {addr}");
        fresh.into_iter().next().expect("a token")
    }

    /// Invites `email` and waits for its first token.
    pub async fn invite_with_token(&self, c: &Caller, email: &str) -> (String, String) {
        let id = self.invite_id(c, email).await;
        let token = self.new_token(email, 1, &[]).await;
        (id, token)
    }
}

/// How long tests wait for the worker to deliver (it polls every 250 ms).
pub const MAIL_TIMEOUT: Duration = Duration::from_secs(15);
/// How long "no more mail arrives" is watched for.
pub const SETTLE: Duration = Duration::from_millis(1500);

/// Calls `f` every 50 ms until it returns something or `timeout` passes.
pub async fn poll<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(t) = f() {
            return Some(t);
        }
        if start.elapsed() > timeout {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The text of a message file.
pub fn read_email(path: &Path) -> String {
    std::fs::read_to_string(path).expect("readable .eml")
}

/// A header's value (the first line of it), looked up case-insensitively
/// in the message's header section.
pub fn header(text: &str, name: &str) -> Option<String> {
    let head = text.split("\r\n\r\n").next().unwrap_or(text);
    head.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

/// The address in the `To` header.
pub fn recipient(path: &Path) -> Option<String> {
    let to = header(&std::fs::read_to_string(path).ok()?, "To")?;
    Some(match (to.rfind('<'), to.rfind('>')) {
        (Some(a), Some(b)) if a < b => to[a + 1..b].to_owned(),
        _ => to,
    })
}

/// The token of the accept link (the text part comes first and is 7bit,
/// so the link is intact).
pub fn token_from_email(path: &Path) -> String {
    let text = read_email(path);
    let at = text.find("token=").expect("an accept link with token=") + "token=".len();
    let token: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert!(token.len() >= 22, "a token of at least 128 bits: {token:?}");
    token
}
