//! Test databases (a SQLite temp file; a fresh PostgreSQL database per test
//! when `BECKON_TEST_DATABASE_URL` is set), fixtures, and `store_test!`,
//! which runs one test body against each backend.

use beckon_ports::{
    ApiKeyId, AuditEntry, AuditOutcome, Email, Invite, InviteEmail, InviteSend, InviteToken,
    NewUser, OutboxId, OutboxMessage, RequestId, Rotation, Tenant, TenantId, TenantName,
    TenantRepo, User, UserId, UserName, UserStatus,
};
use beckon_store_diesel::{Store, StoreOptions};
use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use uuid::Uuid;

/// The PostgreSQL admin URL, when PostgreSQL tests should run.
pub fn pg_admin_url() -> Option<String> {
    std::env::var("BECKON_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{host_part}/{name}{query}")
}

/// One test's database; dropped (PostgreSQL) or deleted (SQLite) at the end.
pub enum TestDb {
    Sqlite {
        _dir: tempfile::TempDir,
        path: String,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

impl TestDb {
    pub async fn sqlite() -> (Store, TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("beckon.db").to_str().unwrap().to_owned();
        let store = connect(&format!("sqlite://{path}")).await;
        (store, TestDb::Sqlite { _dir: dir, path })
    }

    pub async fn postgres() -> Option<(Store, TestDb)> {
        let admin_url = pg_admin_url()?;
        let name = format!("beckon_test_{}", Uuid::new_v4().simple());
        let mut admin = AsyncPgConnection::establish(&admin_url).await.unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let url = with_database(&admin_url, &name);
        let store = connect(&url).await;
        Some((
            store,
            TestDb::Postgres {
                admin_url,
                name,
                url,
            },
        ))
    }

    /// Runs a `SELECT COUNT(*) AS n …` on a connection of its own.
    pub async fn count(&self, sql: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let q = diesel::sql_query(sql);
        match self {
            TestDb::Sqlite { path, .. } => {
                let mut c = diesel_async::sync_connection_wrapper::SyncConnectionWrapper::<
                    diesel::SqliteConnection,
                >::establish(path)
                .await
                .unwrap();
                q.get_result::<N>(&mut c).await.unwrap().n
            }
            TestDb::Postgres { url, .. } => {
                let mut c = AsyncPgConnection::establish(url).await.unwrap();
                q.get_result::<N>(&mut c).await.unwrap().n
            }
        }
    }
}

impl Drop for TestDb {
    // Runs even when the test panicked, so no database is left behind.
    fn drop(&mut self) {
        if let TestDb::Postgres {
            admin_url, name, ..
        } = self
        {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(mut admin) = AsyncPgConnection::establish(&admin_url).await {
                        let _ = admin
                            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

async fn connect(url: &str) -> Store {
    let store = Store::connect(url, &StoreOptions::default()).await.unwrap();
    store.migrate().await.unwrap();
    store
}

/// Generates `NAME::sqlite` and `NAME::postgres` from one async body that
/// receives `store: Store` and `db: &TestDb`. The PostgreSQL variant passes
/// without doing anything when `BECKON_TEST_DATABASE_URL` is unset.
macro_rules! store_test {
    ($(#[$m:meta])* async fn $name:ident($store:ident, $db:ident) $body:block) => {
        $(#[$m])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($store: beckon_store_diesel::Store, $db: &crate::support::TestDb) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (store, db) = crate::support::TestDb::sqlite().await;
                run(store, &db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some((store, db)) = crate::support::TestDb::postgres().await else {
                    eprintln!("BECKON_TEST_DATABASE_URL unset: skipped");
                    return;
                };
                run(store, &db).await;
            }
        }
    };
}
pub(crate) use store_test;

/// A fixed instant with microseconds, as the Clock port hands them out.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap() + Duration::microseconds(123_456)
}

/// A fresh token (the token hash is unique across all tenants).
pub fn token() -> InviteToken {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    InviteToken::from_bytes(bytes)
}

pub async fn tenant(store: &Store, name: &str) -> Tenant {
    let t = Tenant {
        locale: beckon_ports::Locale::En,
        id: TenantId::from_uuid(Uuid::now_v7()),
        name: TenantName::parse(name).unwrap(),
        created_at: t0(),
    };
    TenantRepo::create(store, &t).await.unwrap();
    t
}

pub fn audit(tenant: TenantId, user: UserId, action: &str, at: DateTime<Utc>) -> AuditEntry {
    AuditEntry {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        user_id: Some(user),
        key_id: Some(ApiKeyId::from_uuid(Uuid::now_v7())),
        request_id: RequestId::from_uuid(Uuid::new_v4()),
        action: action.to_owned(),
        outcome: AuditOutcome::Succeeded,
        at,
    }
}

fn send(
    tenant: &Tenant,
    user: UserId,
    email: &Email,
    at: DateTime<Utc>,
) -> (InviteSend, InviteToken) {
    let token = token();
    let expires_at = at + Duration::days(7);
    let send = InviteSend {
        token_hash: token.hash(),
        expires_at,
        sent_at: at,
        outbox: OutboxMessage {
            id: OutboxId::from_uuid(Uuid::now_v7()),
            tenant_id: tenant.id,
            user_id: user,
            email: InviteEmail {
                locale: beckon_ports::Locale::En,
                to: email.clone(),
                to_name: None,
                tenant_name: tenant.name.clone(),
                token: token.clone(),
                expires_at,
            },
            created_at: at,
        },
    };
    (send, token)
}

/// A new invited user of `tenant`, invited at `at`.
pub fn new_user(tenant: &Tenant, email: &str, at: DateTime<Utc>) -> (NewUser, InviteToken) {
    let id = UserId::from_uuid(Uuid::now_v7());
    let email = Email::parse(email).unwrap();
    let (send, token) = send(tenant, id, &email, at);
    let user = User {
        id,
        tenant_id: tenant.id,
        email,
        name: Some(UserName::parse("Ada Lovelace").unwrap()),
        status: UserStatus::Invited,
        created_at: at,
        verified_at: None,
        revoked_at: None,
        invite: Some(Invite {
            expires_at: send.expires_at,
            sends: 1,
            last_sent_at: at,
            delivery: beckon_ports::Delivery::Queued,
        }),
        version: 0,
    };
    let audit = audit(tenant.id, id, "InviteUser", at);
    (
        NewUser {
            event: beckon_store_conformance::fixtures::event(
                tenant.id,
                id,
                beckon_ports::EventType::InviteSent,
                None,
                at,
            ),
            user,
            send,
            idempotency: None,
            audit,
        },
        token,
    )
}

/// A resend of `user` at `at`, decided on `version`.
pub fn rotation(
    tenant: &Tenant,
    user: &User,
    version: i64,
    at: DateTime<Utc>,
) -> (Rotation, InviteToken) {
    let (send, token) = send(tenant, user.id, &user.email, at);
    let rotation = Rotation {
        event: beckon_store_conformance::fixtures::event(
            tenant.id,
            user.id,
            beckon_ports::EventType::InviteSent,
            None,
            at,
        ),
        tenant_id: tenant.id,
        user_id: user.id,
        expected_version: version,
        send,
        idempotency: None,
        audit: audit(tenant.id, user.id, "ResendInvite", at),
    };
    (rotation, token)
}

impl TestDb {
    /// A connection of its own to this SQLite database.
    pub async fn connect_sqlite(
        &self,
    ) -> diesel_async::sync_connection_wrapper::SyncConnectionWrapper<diesel::SqliteConnection>
    {
        match self {
            TestDb::Sqlite { path, .. } => {
                diesel_async::sync_connection_wrapper::SyncConnectionWrapper::establish(path)
                    .await
                    .unwrap()
            }
            TestDb::Postgres { .. } => panic!("not a SQLite database"),
        }
    }

    /// A connection of its own to this PostgreSQL database.
    pub async fn connect_pg(&self) -> AsyncPgConnection {
        match self {
            TestDb::Postgres { url, .. } => AsyncPgConnection::establish(url).await.unwrap(),
            TestDb::Sqlite { .. } => panic!("not a PostgreSQL database"),
        }
    }
}
