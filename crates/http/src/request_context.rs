//! Per-request context: an id (the client's `X-Request-ID` when it is sane,
//! a fresh UUIDv7 otherwise) in extensions, logs and the response, and one
//! log line per request. The query string is never logged: on `/invite` it
//! holds a token.

use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{Error, HttpMessage};
use beckon_ports::RequestId;
use std::future::Future;
use std::time::Instant;
use tracing::Instrument;

const X_REQUEST_ID: &str = "x-request-id";

/// The request-id middleware, for `App::wrap_fn` or `Scope::wrap_fn`
/// (exported as `beckon_http::request_id`): puts the request's
/// [`RequestId`] into its extensions (handlers hand it to the use cases for
/// the audit trail), logs the request inside a span carrying it, and sends
/// it back as `X-Request-ID`. Wrap it outside `shape_errors` so that
/// reshaped errors carry it too.
///
/// ```
/// use actix_web::middleware::ErrorHandlers;
/// use actix_web::{App, web};
///
/// let app = App::new()
///     .route("/hello", web::get().to(|| async { "Hello." }))
///     .wrap(ErrorHandlers::new().default_handler(beckon_http::shape_errors))
///     .wrap_fn(beckon_http::request_id);
/// # drop(app);
/// ```
pub fn around<S, B>(
    req: ServiceRequest,
    srv: &S,
) -> impl Future<Output = Result<ServiceResponse<B>, Error>> + use<S, B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    let id = req
        .headers()
        .get(X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| RequestId::parse(v).ok())
        .unwrap_or_else(|| RequestId::from_uuid(uuid::Uuid::now_v7()));
    req.extensions_mut().insert(id.clone());
    let span = tracing::info_span!("request", method = %req.method(), path = %req.path(), request_id = %id);
    let started = Instant::now();
    let fut = srv.call(req);
    async move {
        let mut res = fut.await?;
        tracing::info!(
            status = res.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "request"
        );
        if let Ok(value) = HeaderValue::from_str(id.as_str()) {
            res.headers_mut()
                .insert(HeaderName::from_static(X_REQUEST_ID), value);
        }
        Ok(res)
    }
    .instrument(span)
}
