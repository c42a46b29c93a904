//! Beckon's HTTP API on actix-web: routes, the checks of CONTRACT §1 in
//! their order, the one error→response mapping, request ids, OpenAPI.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod auth;
mod body;
pub mod dto;
pub mod error;
pub mod openapi;
mod request_context;
pub mod routes;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::ErrorHandlers;
use actix_web::{App, web};
use beckon_domain::Beckon;

pub use error::{ApiError, ErrorBody};
pub use openapi::ApiDoc;

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

/// The whole application, ready for `HttpServer::new` or `test::init_service`.
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
    App::new()
        .app_data(web::Data::new(state))
        .wrap(ErrorHandlers::new().default_handler(error::shape_errors))
        .wrap_fn(request_context::around)
        .service(
            web::resource("/v1/users")
                .route(web::post().to(routes::invite_user::handle))
                .route(web::get().to(routes::list_users::handle)),
        )
        .service(web::resource("/v1/users/{id}").route(web::get().to(routes::read_user::handle)))
        .service(
            web::resource("/v1/users/{id}/resend-invite")
                .route(web::post().to(routes::resend_invite::handle)),
        )
        .service(
            web::resource("/v1/invites/accept")
                .route(web::post().to(routes::accept_invite::handle)),
        )
        .service(
            web::resource("/invite")
                .route(web::get().to(routes::invite_page::show))
                .route(web::post().to(routes::invite_page::accept)),
        )
        .service(web::resource("/healthz").route(web::get().to(routes::ops::healthz)))
        .service(web::resource("/readyz").route(web::get().to(routes::ops::readyz)))
        .service(web::resource("/openapi.json").route(web::get().to(routes::ops::openapi)))
        .default_service(web::to(not_found))
}

async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::new(
        actix_web::http::StatusCode::NOT_FOUND,
        "not_found",
        "No such route.",
    ))
}
