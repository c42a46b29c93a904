//! The OpenAPI 3.1 document of every route, error shape included.
//!
//! The document states every constraint the server enforces, so that a
//! client or fuzzer that follows it is never refused for a reason it does
//! not state (CONTRACT §7). The constraints live here, once, next to the
//! parsers' rules they restate (`beckon_ports::values`, `ids`, `secrets`):
//! [`Constraints`] puts them on every parameter of that name, and the body
//! schemas take theirs from the `*_schema` functions below. The API tests
//! check each pattern against the parser it restates.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{
    AllOfBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{RefOr, Response};
use utoipa::{Modify, OpenApi};

use crate::dto::{
    AcceptRequest, AcceptedBody, AuditEntryBody, AuditPageBody, InviteBody, InviteForm,
    InviteRequest, MessageBody, StatusBody, UserBody, UserPageBody,
};
use crate::error::ErrorBody;
use crate::routes;

/// A hyphenated UUID in either letter case (`UserId`, `TenantId`, entry
/// ids: 36 characters, `Uuid::try_parse`).
pub const UUID_PATTERN: &str =
    "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$";

/// The characters of an email's local part (`Email::parse`).
const ATEXT: &str = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-";

/// White space that `str::trim` removes (Unicode `White_Space`): the
/// server trims emails and names before it checks them.
const SPACE: &str =
    "\\t\\n\\x0b\\x0c\\r\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

/// Control characters (Unicode `Cc`, what `char::is_control` refuses).
const CONTROL: &str = "\\x00-\\x1f\\x7f-\\x9f";

/// A plain `local@domain` address as `Email::parse` takes it: dot-separated
/// atoms before the `@`; after it at least two dot-separated labels of
/// letters, digits and inner hyphens, 1 to 63 characters each; white space
/// around it.
pub fn email_pattern() -> String {
    let label = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    format!("^[{SPACE}]*[{ATEXT}]+(?:\\.[{ATEXT}]+)*@{label}(?:\\.{label})+[{SPACE}]*$")
}

/// The local part (before the `@`, white space trimmed) is 1 to 64
/// characters: a second pattern, since one regular expression without
/// look-ahead cannot count the atoms and dots together.
pub fn email_local_part_pattern() -> String {
    format!("^[{SPACE}]*[^@]{{1,64}}@")
}

/// The address, white space trimmed, is at most 254 characters
/// (`Email::parse`): a third pattern, as `maxLength` would count the white
/// space around it too (the address itself has none).
pub fn email_length_pattern() -> String {
    format!("^[{SPACE}]*[^{SPACE}]{{1,254}}[{SPACE}]*$")
}

/// The shortest address the pattern allows: `a@b.c`.
pub const EMAIL_MIN_LENGTH: usize = 5;

/// A name (`UserName::parse`): after trimming, 1 to 200 characters that
/// begin and end with something other than white space, and no control
/// character. The length is counted in the pattern, as `maxLength` would
/// count the white space around it too.
pub fn name_pattern() -> String {
    format!(
        "^[{SPACE}]*[^{CONTROL}{SPACE}](?:[^{CONTROL}]{{0,198}}[^{CONTROL}{SPACE}])?[{SPACE}]*$"
    )
}

/// An invite token (`InviteToken::parse`): 43 base64url characters, no
/// padding (32 random bytes).
pub const TOKEN_PATTERN: &str = "^[A-Za-z0-9_-]{43}$";

/// The token's length.
pub const TOKEN_LENGTH: usize = 43;

/// An `Idempotency-Key` (`IdempotencyKey::parse`): printable ASCII
/// (0x20–0x7E). HTTP drops white space around a header value, so the first
/// and last characters that arrive are not spaces.
pub const IDEMPOTENCY_KEY_PATTERN: &str = "^[\\x21-\\x7e](?:[\\x20-\\x7e]*[\\x21-\\x7e])?$";

/// The longest `Idempotency-Key`.
pub const IDEMPOTENCY_KEY_MAX_LENGTH: usize = 255;

/// An `X-Request-ID` as answered (`RequestId::parse`, or a fresh UUIDv7).
pub const REQUEST_ID_PATTERN: &str = "^[\\x20-\\x7e]+$";

/// The longest `X-Request-ID`.
pub const REQUEST_ID_MAX_LENGTH: usize = 200;

/// `limit` on the list routes.
pub const LIMIT_RANGE: (u32, u32) = (1, beckon_domain::list_users::MAX_LIMIT);

/// The operations that take the id of the user `POST /v1/users` made, and
/// the parameter that carries it: the links the stateful phase of a fuzzer
/// (or a generated client) follows.
pub const USER_LINKS: [(&str, &str, &str); 5] = [
    ("ReadUser", "read_user", "path.id"),
    ("ResendInvite", "resend_invite", "path.id"),
    ("RevokeInvite", "revoke_invite", "path.id"),
    ("DeleteUser", "delete_user", "path.id"),
    ("ReadAudit", "list_audit", "query.user_id"),
];

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// A UUID string.
pub fn uuid_schema() -> Schema {
    string()
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
        .pattern(Some(UUID_PATTERN))
        .min_length(Some(36))
        .max_length(Some(36))
        .into()
}

/// `InviteRequest.email`: every pattern must match.
pub fn email_schema() -> Schema {
    AllOfBuilder::new()
        .item(
            string()
                .pattern(Some(email_pattern()))
                .min_length(Some(EMAIL_MIN_LENGTH)),
        )
        .item(string().pattern(Some(email_local_part_pattern())))
        .item(string().pattern(Some(email_length_pattern())))
        .description(Some(
            "The invitee's address: a plain local@domain, ASCII only, at most 254 characters \
             (the part before the @ at most 64), a domain of at least two labels. White space \
             around it is trimmed.",
        ))
        .examples(["ada@example.com"])
        .into()
}

/// `InviteRequest.name`: optional (absent or null).
pub fn name_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .pattern(Some(name_pattern()))
        .min_length(Some(1))
        .description(Some(
            "The invitee's name: at most 200 characters, no control characters, not only \
             white space (white space around it is trimmed).",
        ))
        .examples(["Ada Lovelace"])
        .into()
}

/// An invite token.
pub fn token_schema() -> Schema {
    string()
        .pattern(Some(TOKEN_PATTERN))
        .min_length(Some(TOKEN_LENGTH))
        .max_length(Some(TOKEN_LENGTH))
        .description(Some(
            "The token from the invite link: 43 base64url characters.",
        ))
        .into()
}

fn idempotency_key_schema() -> Schema {
    string()
        .pattern(Some(IDEMPOTENCY_KEY_PATTERN))
        .min_length(Some(1))
        .max_length(Some(IDEMPOTENCY_KEY_MAX_LENGTH))
        .into()
}

fn limit_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(LIMIT_RANGE.0))
        .maximum(Some(LIMIT_RANGE.1))
        .default(Some(beckon_domain::list_users::DEFAULT_LIMIT.into()))
        .into()
}

fn status_schema() -> Schema {
    string()
        .enum_values(Some(["invited", "active", "revoked"]))
        .into()
}

fn request_id_schema() -> Schema {
    string()
        .pattern(Some(REQUEST_ID_PATTERN))
        .min_length(Some(1))
        .max_length(Some(REQUEST_ID_MAX_LENGTH))
        .into()
}

/// The schema the server enforces on a parameter, by location and name.
fn parameter_schema(location: &ParameterIn, name: &str) -> Option<Schema> {
    match (location, name) {
        (ParameterIn::Path, "id")
        | (ParameterIn::Header, "X-Tenant-ID")
        | (ParameterIn::Query, "after" | "user_id") => Some(uuid_schema()),
        (ParameterIn::Header, "Idempotency-Key") => Some(idempotency_key_schema()),
        (ParameterIn::Query, "limit") => Some(limit_schema()),
        (ParameterIn::Query, "status") => Some(status_schema()),
        (ParameterIn::Query, "token") => Some(token_schema()),
        _ => None,
    }
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Beckon",
        description = "Multi-tenant user invitations: invite, resend, revoke, accept, erase, audit. Every error has the shape {code, message, details?, notices?}. Every response carries `X-Request-ID`: the caller's when it sent one of 1–200 printable ASCII characters, otherwise a new one."
    ),
    paths(
        routes::invite_user::handle,
        routes::list_users::handle,
        routes::read_user::handle,
        routes::resend_invite::handle,
        routes::revoke_invite::handle,
        routes::delete_user::handle,
        routes::list_audit::handle,
        routes::accept_invite::handle,
        routes::invite_page::show,
        routes::invite_page::accept,
        routes::ops::healthz,
        routes::ops::readyz,
        routes::ops::openapi,
    ),
    components(schemas(
        ErrorBody, UserBody, InviteBody, UserPageBody, InviteRequest, AcceptRequest, AcceptedBody,
        MessageBody, StatusBody, AuditEntryBody, AuditPageBody, InviteForm
    )),
    modifiers(&BearerAuth, &Constraints),
    tags(
        (name = "users", description = "Tenant-scoped; need `Authorization: Bearer <api key>` and `X-Tenant-ID`."),
        (name = "invites", description = "The invitee's side: the token is the credential."),
        (name = "ops", description = "Health, readiness, this document."),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "api_key",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
    }
}

/// Puts the enforced constraints on every parameter, the headers every
/// response carries, and the links from a new user to its routes.
struct Constraints;

impl Modify for Constraints {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in operations(item) {
                constrain_parameters(operation);
                add_response_headers(operation);
                if operation.operation_id.as_deref() == Some("invite_user") {
                    add_user_links(operation);
                }
            }
        }
    }
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.head.as_mut(),
        item.patch.as_mut(),
        item.trace.as_mut(),
    ]
    .into_iter()
    .flatten()
}

fn constrain_parameters(operation: &mut Operation) {
    for parameter in operation.parameters.iter_mut().flatten() {
        let RefOr::T(parameter) = parameter else {
            continue;
        };
        if let Some(schema) = parameter_schema(&parameter.parameter_in, &parameter.name) {
            parameter.schema = Some(RefOr::T(schema));
        }
    }
}

fn add_response_headers(operation: &mut Operation) {
    for (status, response) in &mut operation.responses.responses {
        let RefOr::T(response) = response else {
            continue;
        };
        response.headers.insert(
            "X-Request-ID".to_owned(),
            HeaderBuilder::new()
                .schema(Some(request_id_schema()))
                .description(Some(
                    "The caller's X-Request-ID when it was 1–200 printable ASCII characters, \
                     otherwise a new one.",
                ))
                .build()
                .into(),
        );
        if status == "401" {
            response.headers.insert(
                "WWW-Authenticate".to_owned(),
                HeaderBuilder::new()
                    .schema(Some(string().pattern(Some("^Bearer")).build()))
                    .build()
                    .into(),
            );
        }
        if status == "429" {
            response.headers.insert(
                "Retry-After".to_owned(),
                HeaderBuilder::new()
                    .schema(Some(string().pattern(Some("^[1-9][0-9]*$")).build()))
                    .description(Some(
                        "Whole seconds until a send is allowed (as details.retry_after_seconds).",
                    ))
                    .build()
                    .into(),
            );
        }
    }
}

fn add_user_links(operation: &mut Operation) {
    let Some(RefOr::T(created)) = operation.responses.responses.get_mut("201") else {
        return;
    };
    add_links(created);
}

fn add_links(response: &mut Response) {
    for (name, operation_id, parameter) in USER_LINKS {
        response.links.insert(
            name.to_owned(),
            RefOr::T(
                LinkBuilder::new()
                    .operation_id(operation_id)
                    .parameter(parameter, "$response.body#/id")
                    .description("The user just invited.")
                    .build(),
            ),
        );
    }
}
