//! Beckon's HTTP API on actix-web: routes, the checks of CONTRACT §1 in
//! their order, the one error→response mapping, request ids, OpenAPI.
//!
//! Serve it alone with [`app`], or mount it inside another actix-web
//! application with [`scope`]. Teams that bring their own middleware take
//! the routes alone ([`configure`]) and the pieces [`scope`] is made of:
//! [`request_id`], [`shape_errors`] and [`not_found`].
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod auth;
mod body;
pub mod dto;
pub mod error;
pub mod metrics;
pub mod openapi;
mod request_context;
pub mod routes;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlers;
use actix_web::{App, HttpResponse, Scope, web};
use beckon_domain::Beckon;

pub use error::{ApiError, ErrorBody, shape_errors};
pub use openapi::ApiDoc;
pub use request_context::{UNMATCHED, around as request_id};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The use cases.
    pub beckon: Beckon,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
}

/// The default body limit: an invite is a few hundred bytes.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024;

/// The whole application, ready for `HttpServer::new` or `test::init_service`:
/// [`scope`] mounted at the root, so that the bundled server and a mounted
/// Beckon are one and the same service.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new().service(scope(state, ""))
}

/// Beckon as a [`Scope`] to mount inside another actix-web application:
/// every route under `prefix` (`""` or `"/"` for the root, else e.g.
/// `"/invites"`), with what [`app`] has around them — the request id
/// ([`request_id`]), the error shape ([`shape_errors`]) and a JSON 404
/// ([`not_found`]) for unknown paths under the prefix. Paths outside the
/// prefix stay the host's.
///
/// Two things the host provides, as `beckon serve` does: an email link
/// (`BECKON_ACCEPT_URL`) that points under the prefix, and a loop calling
/// `Beckon::deliver_outbox` so that queued invites are sent.
///
/// ```no_run
/// use actix_web::{App, HttpServer, web};
///
/// async fn serve(state: beckon_http::AppState) -> std::io::Result<()> {
///     HttpServer::new(move || {
///         App::new()
///             .route("/hello", web::get().to(|| async { "Hello." }))
///             // POST /invites/v1/users, GET /invites/invite?token=…, …
///             .service(beckon_http::scope(state.clone(), "/invites"))
///     })
///     .bind("127.0.0.1:8080")?
///     .run()
///     .await
/// }
/// ```
pub fn scope(
    state: AppState,
    prefix: &str,
) -> Scope<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody + use<>>,
        Error = actix_web::Error,
        InitError = (),
    > + use<>,
> {
    // A trailing slash would double the one every route starts with.
    web::scope(prefix.trim_end_matches('/'))
        .app_data(web::Data::new(state))
        .configure(configure)
        .default_service(web::to(not_found))
        // The last `wrap` runs first: every response, reshaped errors
        // included, leaves with its request id.
        .wrap(ErrorHandlers::new().default_handler(shape_errors))
        .wrap_fn(request_id)
}

/// Every route and nothing else, for hosts that bring their own middleware.
/// The handlers need `web::Data<AppState>` in the app data; without
/// [`request_id`] and [`shape_errors`] around them, responses have no
/// `X-Request-ID` and actix's own errors (wrong method, unknown path) are
/// not in the error shape.
///
/// ```no_run
/// use actix_web::middleware::ErrorHandlers;
/// use actix_web::{App, web};
///
/// fn host(state: beckon_http::AppState) {
///     let _app = App::new().service(
///         web::scope("/invites")
///             .app_data(web::Data::new(state))
///             .configure(beckon_http::configure)
///             .default_service(web::to(beckon_http::not_found))
///             .wrap(ErrorHandlers::new().default_handler(beckon_http::shape_errors))
///             .wrap_fn(beckon_http::request_id),
///     );
/// }
/// ```
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v1/users")
            .route(web::post().to(routes::invite_user::handle))
            .route(web::get().to(routes::list_users::handle)),
    )
    .service(
        web::resource("/v1/users/{id}")
            .route(web::get().to(routes::read_user::handle))
            .route(web::delete().to(routes::delete_user::handle)),
    )
    .service(
        web::resource("/v1/users/{id}/resend-invite")
            .route(web::post().to(routes::resend_invite::handle)),
    )
    .service(
        web::resource("/v1/users/{id}/revoke-invite")
            .route(web::post().to(routes::revoke_invite::handle)),
    )
    .service(web::resource("/v1/audit").route(web::get().to(routes::list_audit::handle)))
    .service(
        web::resource("/v1/invites/accept").route(web::post().to(routes::accept_invite::handle)),
    )
    .service(
        web::resource("/invite")
            .route(web::get().to(routes::invite_page::show))
            .route(web::post().to(routes::invite_page::accept)),
    )
    .service(web::resource("/healthz").route(web::get().to(routes::ops::healthz)))
    .service(web::resource("/readyz").route(web::get().to(routes::ops::readyz)))
    .service(web::resource("/openapi.json").route(web::get().to(routes::ops::openapi)))
    .service(web::resource("/docs").route(web::get().to(routes::docs::page)))
    .service(
        web::resource(routes::docs::SCRIPT_PATH).route(web::get().to(routes::docs::rapidoc_js)),
    );
}

/// The answer to a path no route matches: 404 `not_found` in the error
/// shape. For `default_service` next to [`configure`].
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "No such route.",
    ))
}
