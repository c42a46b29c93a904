//! Beckon's [`WebhookSender`]: signs each event as the Standard Webhooks
//! specification says and posts it with reqwest (rustls, ring, webpki
//! roots).
//!
//! The signature is `v1,` and the base64 of HMAC-SHA256 over
//! `"{webhook-id}.{webhook-timestamp}.{body}"`, keyed with the decoded
//! bytes of the tenant's `whsec_` secret — what the `standardwebhooks`
//! libraries verify. A 2xx answer within the timeout is success; anything
//! else (no connection, a timeout, a 3xx, 4xx or 5xx) is `Transient`, for
//! the worker to retry with backoff. Redirects are not followed: a
//! receiver that moved is told to update its URL by the failures.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use beckon_ports::{WebhookEndpoint, WebhookError, WebhookPost, WebhookSecret, WebhookSender};
use hmac::{Hmac, KeyInit, Mac};
use sha2_011::Sha256;

/// How long a receiver has to answer: the contract's "a 2xx answer within
/// 10 s".
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The longest error text kept from a receiver's answer.
const MAX_BODY_IN_ERROR: usize = 200;

/// `webhook-signature` for one post: `v1,` + base64(HMAC-SHA256(key,
/// "{id}.{timestamp}.{body}")).
pub fn signature(secret: &WebhookSecret, id: &str, timestamp: i64, body: &str) -> String {
    let key = secret.key();
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
        return String::new();
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// Posts events over HTTP(S).
#[derive(Debug, Clone)]
pub struct HttpWebhookSender {
    client: reqwest::Client,
    timeout: Duration,
}

impl HttpWebhookSender {
    /// A sender whose posts time out after [`TIMEOUT`].
    pub fn new() -> Result<Self, WebhookError> {
        Self::with_timeout(TIMEOUT)
    }

    /// A sender whose posts time out after `timeout` (tests).
    pub fn with_timeout(timeout: Duration) -> Result<Self, WebhookError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("Beckon-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| WebhookError::Transient(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { client, timeout })
    }
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn post(&self, to: &WebhookEndpoint, post: &WebhookPost) -> Result<(), WebhookError> {
        let timestamp = post.timestamp.timestamp();
        let answer = self
            .client
            .post(to.url.as_str())
            .header("content-type", "application/json")
            .header("webhook-id", &post.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                signature(&to.secret, &post.id, timestamp, &post.body),
            )
            .body(post.body.clone())
            .send()
            .await
            .map_err(|e| WebhookError::Transient(describe(&e)))?;
        let status = answer.status();
        if status.is_success() {
            return Ok(());
        }
        let text = answer.text().await.unwrap_or_default();
        let text: String = text.chars().take(MAX_BODY_IN_ERROR).collect();
        Err(WebhookError::Transient(format!(
            "the receiver answered HTTP {}: {}",
            status.as_u16(),
            text.trim()
        )))
    }

    fn max_send_time(&self) -> Duration {
        // The request's own timeout bounds connect and answer alike.
        self.timeout + Duration::from_secs(1)
    }
}

/// A transport error, without the URL (it may carry credentials).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "no answer in time"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "the request failed"
    };
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use beckon_ports::{TenantId, WebhookUrl};
    use chrono::{DateTime, TimeDelta};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// The Standard Webhooks specification's own example: secret
    /// `whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw`, id `msg_p5jXN8AQM9LWM0D4loKWxJek`,
    /// timestamp 1614265330, body `{"test": 2432232314}`.
    #[test]
    fn the_signature_matches_the_specifications_example() {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            signature(
                &secret,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                r#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    fn endpoint(url: &str) -> WebhookEndpoint {
        WebhookEndpoint {
            tenant_id: TenantId::from_uuid(uuid::Uuid::from_u128(1)),
            url: WebhookUrl::parse(url).unwrap(),
            secret: WebhookSecret::from_bytes([3; 32]),
            created_at: DateTime::UNIX_EPOCH,
        }
    }

    /// One connection answered with `status`; returns the request seen.
    async fn answer_once(status: &'static str) -> (String, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let seen = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = socket.read(&mut buf).await.unwrap();
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let reply =
                format!("HTTP/1.1 {status}\r\ncontent-length: 4\r\nconnection: close\r\n\r\nnope");
            socket.write_all(reply.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&request).into_owned()
        });
        (url, seen)
    }

    fn post() -> WebhookPost {
        WebhookPost {
            id: "msg_1".into(),
            timestamp: DateTime::UNIX_EPOCH + TimeDelta::seconds(1_700_000_000),
            body: r#"{"type":"invite.accepted"}"#.into(),
        }
    }

    #[tokio::test]
    async fn a_2xx_is_delivered_with_the_three_headers_and_the_body() {
        let (url, seen) = answer_once("204 No Content").await;
        let to = endpoint(&url);
        HttpWebhookSender::new()
            .unwrap()
            .post(&to, &post())
            .await
            .unwrap();
        let request = seen.await.unwrap().to_ascii_lowercase();
        assert!(request.starts_with("post /hook http/1.1"), "{request}");
        assert!(request.contains("webhook-id: msg_1"));
        assert!(request.contains("webhook-timestamp: 1700000000"));
        let sig = signature(&to.secret, "msg_1", 1_700_000_000, &post().body).to_ascii_lowercase();
        assert!(request.contains(&format!("webhook-signature: {sig}")));
        assert!(request.ends_with(r#"{"type":"invite.accepted"}"#));
    }

    #[tokio::test]
    async fn a_non_2xx_answer_or_no_server_is_transient() {
        for status in [
            "500 Internal Server Error",
            "404 Not Found",
            "301 Moved Permanently",
        ] {
            let (url, _seen) = answer_once(status).await;
            let err = HttpWebhookSender::new()
                .unwrap()
                .post(&endpoint(&url), &post())
                .await
                .unwrap_err();
            let WebhookError::Transient(text) = err;
            assert!(text.contains(&status[..3]), "{text}");
        }
        // Nothing listens on a port just freed.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let err = HttpWebhookSender::new()
            .unwrap()
            .post(&endpoint(&format!("http://127.0.0.1:{port}/")), &post())
            .await
            .unwrap_err();
        let WebhookError::Transient(text) = err;
        assert!(text.starts_with("cannot connect"), "{text}");
    }

    #[tokio::test]
    async fn a_receiver_that_does_not_answer_in_time_is_transient() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let _held = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(socket);
        });
        let sender = HttpWebhookSender::with_timeout(Duration::from_millis(300)).unwrap();
        let WebhookError::Transient(text) =
            sender.post(&endpoint(&url), &post()).await.unwrap_err();
        assert!(text.starts_with("no answer in time"), "{text}");
    }
}
