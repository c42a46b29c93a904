//! The tenant isolation matrix: every tenant-scoped route × tenant header ×
//! credential × target. Each cell's answer is computed from CONTRACT §1's
//! check order — credential (401), tenant header (400), tenant match (403
//! `tenant_mismatch`), authorization (403 `forbidden`), then the target —
//! and compared with what the real app answers. Besides status and `code`,
//! every cell checks the error shape and that no body carries anything of
//! a tenant other than the caller's; every group of cells that differs
//! only in the target checks that another tenant's user (and, for a denied
//! caller, any user) answers byte for byte like a user that does not exist.
//!
//! "Own" is tenant A, "other" is tenant B. A has an admin key, a viewer key
//! and a revoked key, B an admin key; each has one invited user for the
//! routes that leave a user as it was (read, resend) and one more for each
//! route that changes a user for good (revoke, delete). Nothing a cell does
//! breaks another: the cooldown is off (so the one permitted resend per
//! user succeeds), each permitted invite is of a new email, and the cells
//! run in three rounds: first every cell but the permitted revokes and
//! deletes (after it, the users to revoke and delete are checked to be as
//! they were), then those (one per tenant and route), then the audit reads,
//! which see what the rounds before them recorded. Afterwards the users'
//! send counts and states and the tenants' user counts show that no
//! refused cell changed anything.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, on_both_backends, random_id, spawn_app_with};

// ---- the dimensions -----------------------------------------------------

/// One of the two tenants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Own,
    Other,
}

/// The roles of the default policies (CONTRACT §2): `admin` may invite,
/// resend, read; `viewer` may only read (read one user, list users).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Admin,
    Viewer,
}

/// The operation, named like its Cedar action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    InviteUser,
    ListUsers,
    ReadUser,
    ResendInvite,
    RevokeInvite,
    DeleteUser,
    ReadAudit,
}

impl Action {
    fn allows(self, role: Role) -> bool {
        match role {
            Role::Admin => true,
            Role::Viewer => matches!(self, Self::ReadUser | Self::ListUsers),
        }
    }

    /// Whether a success changes the target for good: such cells run after
    /// every other, one per target.
    fn destroys(self) -> bool {
        matches!(self, Self::RevokeInvite | Self::DeleteUser)
    }
}

/// `X-Tenant-ID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum TenantHeader {
    Own,
    Other,
    Missing,
    Malformed,
}

impl TenantHeader {
    const ALL: [Self; 4] = [Self::Own, Self::Other, Self::Missing, Self::Malformed];

    /// The tenant it names, if it is a UUID at all.
    fn tenant(self) -> Option<Side> {
        match self {
            Self::Own => Some(Side::Own),
            Self::Other => Some(Side::Other),
            Self::Missing | Self::Malformed => None,
        }
    }
}

/// `Authorization`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Credential {
    OwnAdmin,
    OwnViewer,
    /// An admin key of the own tenant, revoked before it was ever used.
    Revoked,
    OtherAdmin,
    None,
    /// `Bearer not-a-key`.
    Garbage,
}

impl Credential {
    const ALL: [Self; 6] = [
        Self::OwnAdmin,
        Self::OwnViewer,
        Self::Revoked,
        Self::OtherAdmin,
        Self::None,
        Self::Garbage,
    ];

    /// Whose key it is and its role, if it authenticates.
    fn identity(self) -> Option<(Side, Role)> {
        match self {
            Self::OwnAdmin => Some((Side::Own, Role::Admin)),
            Self::OwnViewer => Some((Side::Own, Role::Viewer)),
            Self::OtherAdmin => Some((Side::Other, Role::Admin)),
            Self::Revoked | Self::None | Self::Garbage => None,
        }
    }

    fn tenant(self) -> Option<Side> {
        self.identity().map(|(side, _)| side)
    }
}

/// The `{id}` of a route that acts on one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Target {
    OwnUser,
    OtherUser,
    Nonexistent,
}

impl Target {
    /// The tenant the user belongs to, if it exists.
    fn tenant(self) -> Option<Side> {
        match self {
            Self::OwnUser => Some(Side::Own),
            Self::OtherUser => Some(Side::Other),
            Self::Nonexistent => None,
        }
    }
}

/// A tenant-scoped route; `{id}` in `path` stands for the target.
struct Route {
    action: Action,
    method: Method,
    path: &'static str,
    /// The status of a success.
    success: u16,
}

impl Route {
    /// The targets the route is tried with; `None`: it has no user target.
    fn targets(&self) -> &'static [Option<Target>] {
        if self.path.contains("{id}") {
            &[
                Some(Target::OwnUser),
                Some(Target::OtherUser),
                Some(Target::Nonexistent),
            ]
        } else {
            &[None]
        }
    }
}

/// Every route of CONTRACT §1 and §6 that takes `X-Tenant-ID`.
const ROUTES: [Route; 7] = [
    Route {
        action: Action::InviteUser,
        method: Method::POST,
        path: "/v1/users",
        success: 201,
    },
    Route {
        action: Action::ListUsers,
        method: Method::GET,
        path: "/v1/users",
        success: 200,
    },
    Route {
        action: Action::ReadUser,
        method: Method::GET,
        path: "/v1/users/{id}",
        success: 200,
    },
    Route {
        action: Action::ResendInvite,
        method: Method::POST,
        path: "/v1/users/{id}/resend-invite",
        success: 200,
    },
    Route {
        action: Action::RevokeInvite,
        method: Method::POST,
        path: "/v1/users/{id}/revoke-invite",
        success: 200,
    },
    Route {
        action: Action::DeleteUser,
        method: Method::DELETE,
        path: "/v1/users/{id}",
        success: 204,
    },
    Route {
        action: Action::ReadAudit,
        method: Method::GET,
        // The whole trail of this test fits in one page.
        path: "/v1/audit?limit=200",
        success: 200,
    },
];

/// (4 routes with a user target × 3 targets + 3 without × 1) × 4 tenant
/// headers × 6 credentials.
const EXPECTED_CELLS: usize = (4 * 3 + 3) * 4 * 6;

// ---- the expectation ----------------------------------------------------

/// What a cell must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    Success(u16),
    Error(u16, &'static str),
}

/// CONTRACT §1 "Authentication and tenancy", in its order; the first
/// failing check answers.
fn expected(
    route: &Route,
    header: TenantHeader,
    credential: Credential,
    target: Option<Target>,
) -> Expected {
    // 1. Credential missing, malformed, unknown or revoked.
    let Some((key_tenant, role)) = credential.identity() else {
        return Expected::Error(401, "unauthenticated");
    };
    // 2. X-Tenant-ID missing or not a UUID (every path id here is a UUID).
    let Some(header_tenant) = header.tenant() else {
        return Expected::Error(400, "invalid_request");
    };
    // 3. X-Tenant-ID is not the credential's tenant.
    if header_tenant != key_tenant {
        return Expected::Error(403, "tenant_mismatch");
    }
    // 4. Authorization; a denied caller must not learn whether the user
    //    exists, so the target does not matter yet.
    if !route.action.allows(role) {
        return Expected::Error(403, "forbidden");
    }
    // Then the target: a user of another tenant is a user that does not exist.
    match target {
        Some(t) if t.tenant() != Some(key_tenant) => Expected::Error(404, "not_found"),
        _ => Expected::Success(route.success),
    }
}

// ---- the fixture --------------------------------------------------------

/// A tenant and everything of it a response could leak.
struct TenantData {
    id: String,
    name: &'static str,
    /// The domain of every email address invited into this tenant.
    domain: &'static str,
    user_id: String,
    user_email: String,
    user_name: &'static str,
    /// The user the revoke cells aim at.
    to_revoke: String,
    /// The user the delete cells aim at.
    to_delete: String,
    /// `(id, secret)` of each of its API keys.
    keys: Vec<(String, String)>,
}

impl TenantData {
    /// The user a cell of `action` aims at.
    fn target_user(&self, action: Action) -> &str {
        match action {
            Action::RevokeInvite => &self.to_revoke,
            Action::DeleteUser => &self.to_delete,
            _ => &self.user_id,
        }
    }

    /// The ids of its users.
    fn user_ids(&self) -> [&str; 3] {
        [&self.user_id, &self.to_revoke, &self.to_delete]
    }

    /// The strings that must not reach another tenant's caller.
    fn secrets(&self) -> Vec<String> {
        let mut out = vec![
            self.id.clone(),
            self.name.to_owned(),
            self.domain.to_owned(),
            self.user_id.clone(),
            self.user_email.clone(),
            self.user_name.to_owned(),
            self.to_revoke.clone(),
            self.to_delete.clone(),
        ];
        for (id, secret) in &self.keys {
            out.push(id.clone());
            out.push(secret.clone());
        }
        out
    }
}

struct Fixture {
    own: TenantData,
    other: TenantData,
    own_admin: String,
    own_viewer: String,
    revoked: String,
    other_admin: String,
}

impl Fixture {
    fn tenant(&self, side: Side) -> &TenantData {
        match side {
            Side::Own => &self.own,
            Side::Other => &self.other,
        }
    }

    fn admin_key(&self, side: Side) -> &str {
        match side {
            Side::Own => &self.own_admin,
            Side::Other => &self.other_admin,
        }
    }
}

async fn tenant_with_user(
    app: &TestApp,
    name: &'static str,
    domain: &'static str,
    user_name: &'static str,
    roles: &[&str],
) -> TenantData {
    let id = app.tenant(name).await;
    let mut keys = Vec::new();
    for role in roles {
        keys.push(app.api_key(&id, role).await);
    }
    let admin = app.caller_in(&id, "admin").await;
    let user_email = format!("{}@{domain}", user_name.to_lowercase().replace(' ', "."));
    let resp = app
        .post_user(&admin, &json!({ "email": user_email, "name": user_name }))
        .await;
    assert_eq!(resp.status().as_u16(), 201, "fixture user of {name}");
    let user: Value = resp.json().await.expect("user json");
    let to_revoke = app.invite_id(&admin, &format!("to.revoke@{domain}")).await;
    let to_delete = app.invite_id(&admin, &format!("to.delete@{domain}")).await;
    // The key that made the user goes first: it is the tenant's admin key.
    keys.insert(0, (admin.key_id, admin.key));
    TenantData {
        id,
        name,
        domain,
        user_id: user["id"].as_str().expect("user id").to_owned(),
        user_email,
        user_name,
        to_revoke,
        to_delete,
        keys,
    }
}

async fn fixture(app: &TestApp) -> Fixture {
    let own = tenant_with_user(
        app,
        "Owncorp Isolation",
        "own-tenant.example",
        "Ada Ownerton",
        &["viewer", "admin"],
    )
    .await;
    let other = tenant_with_user(
        app,
        "Othercorp Isolation",
        "other-tenant.example",
        "Bob Otherby",
        &[],
    )
    .await;
    // The own tenant's keys: [admin, viewer, the admin revoked now].
    let revoked = own.keys[2].clone();
    beckon::admin::revoke_api_key(&app.cfg, &revoked.0, &app.sources)
        .await
        .expect("key revoked");
    Fixture {
        own_admin: own.keys[0].1.clone(),
        own_viewer: own.keys[1].1.clone(),
        revoked: revoked.1,
        other_admin: other.keys[0].1.clone(),
        own,
        other,
    }
}

// ---- one cell -----------------------------------------------------------

struct Cell {
    route: &'static Route,
    header: TenantHeader,
    credential: Credential,
    target: Option<Target>,
    expected: Expected,
    /// The path, with the target's id.
    path: String,
    /// The target's id, if the route has one.
    target_id: Option<String>,
    /// The request's header values (to tell an echo from a leak).
    headers: Vec<(&'static str, String)>,
    /// The JSON body (`POST /v1/users`).
    body: Option<Value>,
}

impl Cell {
    fn label(&self) -> String {
        let target = self
            .target
            .map_or(String::new(), |t| format!(" target={t:?}"));
        format!(
            "{} {} header={:?} credential={:?}{target}",
            self.route.method, self.route.path, self.header, self.credential
        )
    }

    fn request(&self, app: &TestApp) -> RequestBuilder {
        let mut req = app
            .client
            .request(self.route.method.clone(), app.url(&self.path));
        for (name, value) in &self.headers {
            req = req.header(*name, value);
        }
        if let Some(body) = &self.body {
            req = req.json(body);
        }
        req
    }

    /// What this cell's caller must not see: everything of every tenant
    /// but the caller's (all of both for a caller who did not
    /// authenticate), and no API key secret at all — except what the
    /// request itself carries in its path or headers (an echo tells the
    /// caller nothing new).
    fn forbidden(&self, fx: &Fixture) -> Vec<String> {
        let caller = self.credential.tenant();
        let mut out = Vec::new();
        for side in [Side::Own, Side::Other] {
            let t = fx.tenant(side);
            if caller != Some(side) {
                out.extend(t.secrets());
                if self.route.action == Action::ReadAudit {
                    // A tenant's trail records the ids its callers asked
                    // for, whether or not they were theirs (their own
                    // input, telling them nothing): `success_shape` checks
                    // instead that every entry was made by its own keys.
                    let ids = t.user_ids();
                    out.retain(|s| !ids.contains(&s.as_str()));
                }
            }
            out.extend(t.keys.iter().map(|(_, secret)| secret.clone()));
        }
        let sent: Vec<String> = std::iter::once(self.path.to_lowercase())
            .chain(self.headers.iter().map(|(_, v)| v.to_lowercase()))
            .collect();
        out.into_iter()
            .map(|s| s.to_lowercase())
            .filter(|s| !sent.iter().any(|v| v.contains(s.as_str())))
            .collect()
    }
}

/// Cell number `n`: its request and its expected answer.
fn cell(
    fx: &Fixture,
    n: usize,
    route: &'static Route,
    header: TenantHeader,
    credential: Credential,
    target: Option<Target>,
) -> Cell {
    let target_id = target.map(|t| match t.tenant() {
        Some(side) => fx.tenant(side).target_user(route.action).to_owned(),
        None => random_id(),
    });
    let path = match &target_id {
        Some(id) => route.path.replace("{id}", id),
        None => route.path.to_owned(),
    };
    let mut headers = Vec::new();
    let tenant_header = match header {
        TenantHeader::Own => Some(fx.own.id.clone()),
        TenantHeader::Other => Some(fx.other.id.clone()),
        TenantHeader::Missing => None,
        TenantHeader::Malformed => Some("not-a-uuid".to_owned()),
    };
    if let Some(v) = tenant_header {
        headers.push(("X-Tenant-ID", v));
    }
    let key = match credential {
        Credential::OwnAdmin => Some(fx.own_admin.clone()),
        Credential::OwnViewer => Some(fx.own_viewer.clone()),
        Credential::Revoked => Some(fx.revoked.clone()),
        Credential::OtherAdmin => Some(fx.other_admin.clone()),
        Credential::None => None,
        Credential::Garbage => Some("not-a-key".to_owned()),
    };
    if let Some(k) = key {
        headers.push(("Authorization", format!("Bearer {k}")));
    }
    // A new address per cell, in the domain of the tenant the header
    // names: a permitted invite lands there and only there.
    let body = (route.action == Action::InviteUser).then(|| {
        let domain = header
            .tenant()
            .map_or("no-tenant.example", |side| fx.tenant(side).domain);
        json!({ "email": format!("cell{n}@{domain}"), "name": format!("Cell {n}") })
    });
    Cell {
        route,
        header,
        credential,
        target,
        expected: expected(route, header, credential, target),
        path,
        target_id,
        headers,
        body,
    }
}

/// A response, read.
#[derive(Debug)]
struct Reply {
    status: u16,
    content_type: String,
    www_authenticate: Option<String>,
    body: String,
}

async fn send(req: RequestBuilder) -> Reply {
    let resp = req.send().await.expect("request");
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header("content-type").unwrap_or_default();
    let www_authenticate = header("www-authenticate");
    Reply {
        status: resp.status().as_u16(),
        content_type,
        www_authenticate,
        body: resp.text().await.expect("body"),
    }
}

/// The problems with one cell's reply (empty when it is as the contract says).
fn check(cell: &Cell, reply: &Reply, fx: &Fixture) -> Vec<String> {
    let mut problems = Vec::new();
    let mut fail = |what: String| problems.push(what);
    let (status, code) = match cell.expected {
        Expected::Success(s) => (s, None),
        Expected::Error(s, c) => (s, Some(c)),
    };
    if reply.status != status {
        fail(format!("status {} (expected {status})", reply.status));
    }
    if reply.status == 204 {
        if !reply.body.is_empty() {
            fail(format!("a 204 with a body {:?}", reply.body));
        }
        return problems;
    }
    if !reply.content_type.starts_with("application/json") {
        fail(format!("content type {:?}", reply.content_type));
    }
    let body: Value = match serde_json::from_str(&reply.body) {
        Ok(v) => v,
        Err(_) => {
            fail("a body that is not JSON".to_owned());
            Value::Null
        }
    };
    match code {
        Some(code) => {
            for p in error_shape(&body) {
                fail(p);
            }
            if body["code"] != code {
                fail(format!("code {} (expected {code:?})", body["code"]));
            }
            if status == 401 && reply.www_authenticate.as_deref() != Some("Bearer") {
                fail(format!("WWW-Authenticate {:?}", reply.www_authenticate));
            }
            if status == 400 && body["details"]["field"] != "X-Tenant-ID" {
                fail(format!("details.field {}", body["details"]["field"]));
            }
            // The default policies tell a denied caller why.
            if code == "forbidden" && body["notices"].as_array().is_none_or(Vec::is_empty) {
                fail("a deny without notices".to_owned());
            }
        }
        None if reply.status == status => {
            for p in success_shape(cell, &body, fx) {
                fail(p);
            }
        }
        None => {}
    }
    let text = reply.body.to_lowercase();
    for s in cell.forbidden(fx) {
        if text.contains(&s) {
            fail(format!("the body leaks {s:?}"));
        }
    }
    problems
}

/// `{code, message, details?, notices?}` (CONTRACT §1).
fn error_shape(body: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(obj) = body.as_object() else {
        return vec!["an error body that is not an object".to_owned()];
    };
    if !obj.get("code").is_some_and(Value::is_string) {
        problems.push("no string `code`".to_owned());
    }
    if obj
        .get("message")
        .and_then(Value::as_str)
        .is_none_or(|m| m.trim().is_empty())
    {
        problems.push("no non-empty `message`".to_owned());
    }
    if obj
        .get("details")
        .is_some_and(|d| d.as_object().is_none_or(|d| d.is_empty()))
    {
        problems.push("`details` present but not a non-empty object".to_owned());
    }
    if obj.get("notices").is_some_and(|n| {
        n.as_array()
            .is_none_or(|n| n.is_empty() || !n.iter().all(Value::is_string))
    }) {
        problems.push("`notices` present but not a non-empty array of strings".to_owned());
    }
    for key in obj.keys() {
        if !["code", "message", "details", "notices"].contains(&key.as_str()) {
            problems.push(format!("an unexpected field `{key}`"));
        }
    }
    problems
}

/// A permitted request did what it says, in the caller's own tenant.
fn success_shape(cell: &Cell, body: &Value, fx: &Fixture) -> Vec<String> {
    let Some(side) = cell.credential.tenant() else {
        return vec!["a success without a credential".to_owned()];
    };
    let own = fx.tenant(side);
    let ok = match cell.route.action {
        Action::InviteUser => {
            cell.body
                .as_ref()
                .is_some_and(|sent| body["email"] == sent["email"])
                && body["status"] == "invited"
        }
        Action::ListUsers => body["items"].as_array().is_some_and(|items| {
            items.iter().any(|u| u["id"] == own.user_id.as_str())
                && items.iter().all(|u| {
                    u["email"]
                        .as_str()
                        .is_some_and(|e| e.ends_with(&format!("@{}", own.domain)))
                })
        }),
        Action::ReadUser => {
            cell.target_id.as_deref().is_some_and(|id| body["id"] == id)
                && body["email"] == own.user_email.as_str()
        }
        Action::ResendInvite => *body == json!({ "message": "Invite resent." }),
        Action::RevokeInvite => *body == json!({ "message": "Invite revoked." }),
        // A 204 has no body (checked before).
        Action::DeleteUser => true,
        // The caller's trail, and nothing but: every entry was made by one
        // of its tenant's keys (or by an invitee, with none), and its
        // users' invites are in it.
        Action::ReadAudit => body["items"].as_array().is_some_and(|items| {
            let keys: Vec<&str> = own.keys.iter().map(|(id, _)| id.as_str()).collect();
            items.iter().all(|e| {
                e["key_id"].is_null() || e["key_id"].as_str().is_some_and(|k| keys.contains(&k))
            }) && items
                .iter()
                .any(|e| e["action"] == "InviteUser" && e["user_id"] == own.to_delete.as_str())
        }),
    };
    if ok {
        Vec::new()
    } else {
        vec![format!("an unexpected success body {body}")]
    }
}

/// A reply with the target's id written as `{id}`.
fn normalized(reply: &Reply, target_id: Option<&str>) -> (u16, String, String) {
    let body = match target_id {
        Some(id) => reply
            .body
            .to_lowercase()
            .replace(&id.to_lowercase(), "{id}"),
        None => reply.body.clone(),
    };
    (reply.status, reply.content_type.clone(), body)
}

// ---- the matrix ---------------------------------------------------------

/// Requests in flight at once.
const CHUNK: usize = 24;

on_both_backends!(every_route_keeps_tenants_apart_in_the_contracts_check_order);
async fn every_route_keeps_tenants_apart_in_the_contracts_check_order(backend: Backend) {
    let started = Instant::now();
    // The cooldown is off so that the one permitted resend of each user
    // succeeds right after its invite (which counts as a send).
    let app = spawn_app_with(backend, |cfg| {
        cfg.resend_cooldown = Duration::ZERO;
        cfg.resend_daily_limit = 0;
    })
    .await;
    let fx = fixture(&app).await;

    let mut cells = Vec::new();
    for route in &ROUTES {
        for header in TenantHeader::ALL {
            for credential in Credential::ALL {
                for &target in route.targets() {
                    let n = cells.len();
                    cells.push(cell(&fx, n, route, header, credential, target));
                }
            }
        }
    }

    // The rounds: every cell that leaves its target as it was; the
    // permitted revokes and deletes; the audit reads.
    let round = |c: &Cell| match c.route.action {
        Action::ReadAudit => 2,
        a if a.destroys() && matches!(c.expected, Expected::Success(_)) => 1,
        _ => 0,
    };
    let mut failures = Vec::new();
    let mut replies: Vec<Option<Reply>> = (0..cells.len()).map(|_| None).collect();
    for r in 0..3 {
        let members: Vec<usize> = (0..cells.len())
            .filter(|&i| round(&cells[i]) == r)
            .collect();
        for chunk in members.chunks(CHUNK) {
            let tasks: Vec<_> = chunk
                .iter()
                .map(|&i| (i, tokio::spawn(send(cells[i].request(&app)))))
                .collect();
            for (i, task) in tasks {
                replies[i] = Some(task.await.expect("request task"));
            }
        }
        if r == 0 {
            // No refused revoke or delete changed its target.
            for side in [Side::Own, Side::Other] {
                let t = fx.tenant(side);
                for id in [&t.to_revoke, &t.to_delete] {
                    let user = read_as_admin(&app, &fx, side, &format!("/v1/users/{id}")).await;
                    if user["status"] != "invited" {
                        failures.push(format!(
                            "{side:?} tenant's user {id} is {} after the refused cells",
                            user["status"]
                        ));
                    }
                }
            }
        }
    }
    let replies: Vec<Reply> = replies
        .into_iter()
        .map(|r| r.expect("every cell was sent"))
        .collect();

    for (cell, reply) in cells.iter().zip(&replies) {
        for p in check(cell, reply, &fx) {
            failures.push(format!("{}: {p}; body {}", cell.label(), reply.body));
        }
    }

    // A user the caller may not learn about answers exactly like no user:
    // another tenant's user always, and any user when the request fails
    // before the target matters (same expected answer as no user).
    let mut groups: HashMap<(&str, Method, TenantHeader, Credential), Vec<usize>> = HashMap::new();
    for (i, cell) in cells.iter().enumerate() {
        if cell.target.is_some() {
            let key = (
                cell.route.path,
                cell.route.method.clone(),
                cell.header,
                cell.credential,
            );
            groups.entry(key).or_default().push(i);
        }
    }
    for members in groups.values() {
        let Some(&none) = members
            .iter()
            .find(|&&i| cells[i].target == Some(Target::Nonexistent))
        else {
            failures.push("a group without a nonexistent target".to_owned());
            continue;
        };
        let reference = normalized(&replies[none], cells[none].target_id.as_deref());
        for &i in members {
            let cell = &cells[i];
            let Some(target) = cell.target else { continue };
            let foreign = target.tenant() != cell.credential.tenant();
            if i == none || !(foreign || cell.expected == cells[none].expected) {
                continue;
            }
            if normalized(&replies[i], cell.target_id.as_deref()) != reference {
                failures.push(format!(
                    "{}: distinguishable from a nonexistent user: {} {} vs {} {}",
                    cell.label(),
                    replies[i].status,
                    replies[i].body,
                    replies[none].status,
                    replies[none].body
                ));
            }
        }
    }

    // Nothing happened where the contract refuses: each user was sent to
    // once by its invite plus once per permitted resend, and each tenant
    // holds its user plus one per permitted invite.
    for side in [Side::Own, Side::Other] {
        let permitted = |action: Action, on: fn(&Cell) -> Option<Side>| {
            cells
                .iter()
                .filter(|c| c.route.action == action && on(c) == Some(side))
                .filter(|c| matches!(c.expected, Expected::Success(_)))
                .count()
        };
        let resends = permitted(Action::ResendInvite, |c| c.target.and_then(Target::tenant));
        let invites = permitted(Action::InviteUser, |c| c.credential.tenant());
        let revokes = permitted(Action::RevokeInvite, |c| c.target.and_then(Target::tenant));
        let deletes = permitted(Action::DeleteUser, |c| c.target.and_then(Target::tenant));
        let t = fx.tenant(side);
        let user = read_as_admin(&app, &fx, side, &format!("/v1/users/{}", t.user_id)).await;
        if user["invite"]["sends"] != 1 + resends {
            failures.push(format!(
                "{side:?} tenant's user was sent to {} times, expected {}",
                user["invite"]["sends"],
                1 + resends
            ));
        }
        let revoked = read_as_admin(&app, &fx, side, &format!("/v1/users/{}", t.to_revoke)).await;
        let status = if revokes == 1 { "revoked" } else { "invited" };
        if revoked["status"] != status {
            failures.push(format!(
                "{side:?} tenant's user to revoke is {}, expected {status} ({revokes} permitted)",
                revoked["status"]
            ));
        }
        let deleted = app
            .get(&format!("/v1/users/{}", t.to_delete))
            .bearer_auth(fx.admin_key(side))
            .header("X-Tenant-ID", &t.id)
            .send()
            .await
            .expect("request");
        let expected = if deletes == 1 { 404 } else { 200 };
        if deleted.status().as_u16() != expected {
            failures.push(format!(
                "{side:?} tenant's user to delete answers {}, expected {expected} ({deletes} permitted)",
                deleted.status()
            ));
        }
        let page = read_as_admin(&app, &fx, side, "/v1/users?limit=200").await;
        let count = page["items"].as_array().map_or(0, Vec::len);
        let users = 3 + invites - deletes;
        if count != users {
            failures.push(format!(
                "{side:?} tenant has {count} users, expected {users}"
            ));
        }
    }

    let checked = cells.len();
    println!(
        "tenant isolation: {checked} cells checked on {backend} in {:.1?}",
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} contract violations:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(checked, EXPECTED_CELLS, "the matrix shrank or grew");
}

/// `GET path` as `side`'s admin, asserting 200.
async fn read_as_admin(app: &TestApp, fx: &Fixture, side: Side, path: &str) -> Value {
    let resp = app
        .get(path)
        .bearer_auth(fx.admin_key(side))
        .header("X-Tenant-ID", &fx.tenant(side).id)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 200, "a follow-up read of {path}");
    resp.json().await.expect("JSON")
}
