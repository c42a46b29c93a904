//! A minimal HTTP/1.1 keep-alive client over std's TcpStream, for setting
//! up data through the API (inviting users) without one curl process per
//! request: thousands of invites then take seconds, not minutes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// One connection to `127.0.0.1:port`.
pub struct Client {
    port: u16,
    conn: BufReader<TcpStream>,
}

impl Client {
    pub fn connect(port: u16) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Self {
            port,
            conn: BufReader::new(stream),
        })
    }

    /// Sends one request and returns the status and the body.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> anyhow::Result<(u16, String)> {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        self.conn.get_mut().write_all(req.as_bytes())?;

        let mut line = String::new();
        self.conn.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("bad status line {line:?}"))?;
        let mut length = 0usize;
        loop {
            line.clear();
            if self.conn.read_line(&mut line)? == 0 {
                bail!("connection closed in the headers");
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let name = name.trim().to_ascii_lowercase();
                if name == "content-length" {
                    length = value.trim().parse()?;
                } else if name == "transfer-encoding" {
                    // Beckon's JSON answers are sized; chunked ones would
                    // need a decoder this setup code does not need.
                    bail!("chunked responses are not supported here");
                }
            }
        }
        let mut body = vec![0; length];
        self.conn.read_exact(&mut body)?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// Waits until `GET /healthz` answers 200 (at most 30 s).
pub fn wait_healthy(port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let ok = Client::connect(port)
            .and_then(|mut c| c.request("GET", "/healthz", &[], ""))
            .is_ok_and(|(status, _)| status == 200);
        if ok {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("beckon serve did not become healthy within 30 s")
}

/// Pulls `"name":"value"` out of a flat JSON object (the CLI's and the API's
/// answers are flat where this is used).
pub fn field(json: &str, name: &str) -> anyhow::Result<String> {
    let pat = format!("\"{name}\":\"");
    let start = json
        .find(&pat)
        .with_context(|| format!("no {name} in {json}"))?
        + pat.len();
    let end = json[start..]
        .find('"')
        .with_context(|| format!("bad {name} in {json}"))?;
    Ok(json[start..start + end].to_owned())
}
