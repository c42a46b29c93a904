//! TLS to PostgreSQL: `sslmode` and `sslrootcert` in the database URL, end
//! to end through `Store::connect`, against a throwaway cluster of this
//! test's own with `ssl = on` and a certificate for `localhost` signed by a
//! CA the test makes.
//!
//! Runs when `BECKON_TEST_DATABASE_URL` is set, like the other PostgreSQL
//! tests (the machine's own server is not used, only the signal that
//! PostgreSQL is installed); then missing `initdb`/`pg_ctl` fail the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/cluster.rs"]
mod cluster;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use beckon_ports::{Health, StoreError};
use beckon_store_diesel::{Store, StoreOptions};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};

use cluster::Cluster;

/// A CA: its certificate (PEM) and what signs with it.
struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

/// A server certificate for `localhost` only (not 127.0.0.1): its PEM and
/// its key's PEM.
fn server_cert(ca: &Ca) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn opts() -> StoreOptions {
    StoreOptions {
        max_connections: 1,
        acquire_timeout: Duration::from_secs(10),
        ..StoreOptions::default()
    }
}

/// Connects through the store with `url` and pings; `Ok` with the store
/// (its one connection stays open in the pool) or the error.
async fn ping(url: &str) -> Result<Store, StoreError> {
    let store = Store::connect(url, &opts()).await?;
    Health::ping(&store).await?;
    Ok(store)
}

/// Whether the connection(s) named `app` use TLS, as the server sees them
/// (`pg_stat_ssl`), asked over a plain admin connection of its own.
async fn uses_tls(port: u16, app: &str) -> bool {
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable");
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let driver = tokio::spawn(conn);
    let rows = client
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.application_name = $1",
            &[&app],
        )
        .await
        .unwrap();
    drop(client);
    let _ = driver.await;
    assert_eq!(rows.len(), 1, "one pooled connection named {app}");
    rows[0].get(0)
}

/// `url` connects, and with TLS or without as `tls` says.
async fn connects(cluster: &Cluster, url: &str, app: &str, tls: bool) {
    let store = ping(url)
        .await
        .unwrap_or_else(|e| panic!("{app} should connect: {e:#}"));
    assert_eq!(uses_tls(cluster.port, app).await, tls, "{app}: TLS in use");
    drop(store);
}

/// `url` is refused over its certificate (not for some other reason).
async fn refused(url: &str, app: &str, why: &str) {
    match ping(url).await {
        Ok(_) => panic!("{app} should be refused ({why})"),
        Err(StoreError::Unavailable(e)) => {
            let shown = format!("{e:#}");
            assert!(
                shown.contains("certificate") || shown.contains("Certificate"),
                "{app}: refused, but not over the certificate: {shown}"
            );
            assert!(shown.contains(why), "{app}: expected {why:?} in {shown}");
        }
        Err(e) => panic!("{app}: expected Unavailable, got {e:#}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_and_sslrootcert_are_honoured() {
    if std::env::var("BECKON_TEST_DATABASE_URL").is_ok_and(|u| u.is_empty())
        || std::env::var("BECKON_TEST_DATABASE_URL").is_err()
    {
        eprintln!("BECKON_TEST_DATABASE_URL unset: skipped");
        return;
    }
    let started = Instant::now();

    let ca_right = ca("Beckon test CA");
    let ca_wrong = ca("Some other CA");
    let (cert, key) = server_cert(&ca_right);
    let files = tempfile::tempdir().unwrap();
    let right = write(files.path(), "right.pem", &ca_right.pem);
    let wrong = write(files.path(), "wrong.pem", &ca_wrong.pem);

    let mut cluster = Cluster::init();
    cluster.write_data_file("server.crt", cert.as_bytes());
    cluster.write_data_file("server.key", key.as_bytes());
    cluster.append_conf(
        "ssl = on\n\
         ssl_cert_file = 'server.crt'\n\
         ssl_key_file = 'server.key'\n",
    );
    cluster.start();

    // localhost is dialled at 127.0.0.1 only (hostaddr), but TLS checks the
    // name `localhost`.
    let local = |query: &str| cluster.url("localhost", &format!("hostaddr=127.0.0.1&{query}"));
    let by_ip = |query: &str| cluster.url("127.0.0.1", query);
    let root = |path: &Path| format!("sslrootcert={}", path.display());

    let case = "verify_full_right_root";
    let url = local(&format!(
        "sslmode=verify-full&{}&application_name={case}",
        root(&right)
    ));
    connects(&cluster, &url, case, true).await;

    let case = "verify_full_wrong_root";
    let url = local(&format!(
        "sslmode=verify-full&{}&application_name={case}",
        root(&wrong)
    ));
    refused(&url, case, "UnknownIssuer").await;

    let case = "verify_full_wrong_host";
    let url = by_ip(&format!(
        "sslmode=verify-full&{}&application_name={case}",
        root(&right)
    ));
    refused(&url, case, "not valid for name").await;

    let case = "verify_ca_wrong_host";
    let url = by_ip(&format!(
        "sslmode=verify-ca&{}&application_name={case}",
        root(&right)
    ));
    connects(&cluster, &url, case, true).await;

    let case = "verify_ca_wrong_root";
    let url = by_ip(&format!(
        "sslmode=verify-ca&{}&application_name={case}",
        root(&wrong)
    ));
    refused(&url, case, "UnknownIssuer").await;

    let case = "verify_full_webpki_roots";
    let url = local(&format!("sslmode=verify-full&application_name={case}"));
    refused(&url, case, "UnknownIssuer").await;

    let case = "require_no_root";
    let url = by_ip(&format!("sslmode=require&application_name={case}"));
    connects(&cluster, &url, case, true).await;

    let case = "require_with_wrong_root";
    let url = by_ip(&format!(
        "sslmode=require&{}&application_name={case}",
        root(&wrong)
    ));
    refused(&url, case, "UnknownIssuer").await;

    let case = "disable";
    let url = by_ip(&format!("sslmode=disable&application_name={case}"));
    connects(&cluster, &url, case, false).await;

    let case = "prefer";
    let url = by_ip(&format!("sslmode=prefer&application_name={case}"));
    connects(&cluster, &url, case, true).await;

    let case = "no_sslmode";
    let url = by_ip(&format!("application_name={case}"));
    connects(&cluster, &url, case, true).await;

    // `prefer` against a server without TLS falls back to plain text;
    // `require` does not.
    cluster.stop();
    cluster.append_conf("ssl = off\n");
    cluster.start();
    let case = "prefer_no_tls_server";
    let url = cluster.url(
        "127.0.0.1",
        &format!("sslmode=prefer&application_name={case}"),
    );
    connects(&cluster, &url, case, false).await;
    let case = "require_no_tls_server";
    let url = cluster.url(
        "127.0.0.1",
        &format!("sslmode=require&application_name={case}"),
    );
    match ping(&url).await {
        Ok(_) => panic!("require must not fall back to plain text"),
        Err(e) => assert!(matches!(e, StoreError::Unavailable(_)), "{e:#}"),
    }

    drop(cluster);
    eprintln!("TLS cases took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_bad_sslmode_or_missing_root_stops_the_start() {
    let Err(err) = Store::connect(
        "postgres://beckon:hunter2@127.0.0.1:1/app?sslmode=verify-everything",
        &opts(),
    )
    .await
    else {
        panic!("a config error expected");
    };
    let shown = format!("{err:#}");
    assert!(shown.contains("BECKON_DATABASE_URL"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");

    let Err(err) = Store::connect(
        "postgres://beckon:hunter2@127.0.0.1:1/app?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
        &opts(),
    )
    .await
    else {
        panic!("a config error expected");
    };
    let shown = format!("{err:#}");
    assert!(shown.contains("/nonexistent/ca.pem"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
}
