//! Per-request context: an id (the client's `X-Request-ID` when it is sane,
//! a fresh UUIDv7 otherwise) in extensions, logs and the response, and one
//! log line per request (method, route template, status, latency, inside a
//! span carrying the id), and the HTTP metrics. Neither the raw path nor
//! the query string is logged: on `/invite` the query holds a token.

use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
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
    let method = method_label(req.method());
    let span = tracing::info_span!("request", request_id = %id);
    let started = Instant::now();
    let fut = srv.call(req);
    async move {
        let mut res = fut.await?;
        let elapsed = started.elapsed();
        // The route's template (`/v1/users/{id}`), never the raw path: ids
        // stay out of the log line's summary and out of metric labels.
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| UNMATCHED.to_owned());
        let status = res.status().as_u16();
        tracing::info!(
            method,
            route = %route,
            status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        );
        crate::metrics::record_request(route, method, status, elapsed);
        if let Ok(value) = HeaderValue::from_str(id.as_str()) {
            res.headers_mut()
                .insert(HeaderName::from_static(X_REQUEST_ID), value);
        }
        Ok(res)
    }
    .instrument(span)
}

/// The route label of a request no route matched (unknown paths): one
/// fixed value, so that scanners cannot grow the label set.
pub const UNMATCHED: &str = "unmatched";

/// The method as a label: the standard ones by name, anything else as
/// `OTHER` (a client may send any token as a method).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test as actix_test;
    use actix_web::{App, HttpResponse, web};
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use super::*;

    #[actix_web::test]
    async fn requests_are_counted_by_route_template_and_unknown_paths_as_unmatched() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let _guard = metrics::set_default_local_recorder(&recorder);
        // Mounted under a prefix, as a host would.
        let app = actix_test::init_service(
            App::new().service(
                web::scope("/invites")
                    .route("/users/{id}", web::get().to(|| async { "ok" }))
                    .default_service(web::to(|| async { HttpResponse::NotFound().finish() }))
                    .wrap_fn(around),
            ),
        )
        .await;
        for path in ["/invites/users/1", "/invites/users/2", "/invites/nope/3"] {
            let req = actix_test::TestRequest::get().uri(path).to_request();
            let _ = actix_test::call_service(&app, req).await;
        }
        let mut counted: Vec<(Vec<(String, String)>, u64)> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter_map(|(key, _, _, value)| match value {
                DebugValue::Counter(n) if key.key().name() == crate::metrics::REQUESTS_TOTAL => {
                    let labels = key
                        .key()
                        .labels()
                        .map(|l| (l.key().to_owned(), l.value().to_owned()))
                        .collect();
                    Some((labels, n))
                }
                _ => None,
            })
            .collect();
        counted.sort();
        let labels = |route: &str, status: &str| {
            [("route", route), ("method", "GET"), ("status", status)]
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            counted,
            vec![
                (labels("/invites/users/{id}", "200"), 2),
                (labels(UNMATCHED, "404"), 1),
            ]
        );
    }

    #[test]
    fn standard_methods_keep_their_name_and_any_other_is_other() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        let odd = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&odd), "OTHER");
    }
}
