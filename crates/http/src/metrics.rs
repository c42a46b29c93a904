//! The HTTP metrics, recorded through the `metrics` facade: nothing is
//! kept unless the program installs a recorder (`beckon serve` installs a
//! Prometheus one when `BECKON_METRICS_LISTEN` is set).

use std::time::Duration;

/// Requests answered, by `route` (the template, or `unmatched`), `method`
/// and `status`.
pub const REQUESTS_TOTAL: &str = "beckon_http_requests_total";
/// Time from the request reaching Beckon to its response, in seconds, by
/// `route`.
pub const REQUEST_DURATION_SECONDS: &str = "beckon_http_request_duration_seconds";

/// Counts one answered request and its duration.
pub(crate) fn record_request(route: String, method: &'static str, status: u16, elapsed: Duration) {
    metrics::counter!(
        REQUESTS_TOTAL,
        "route" => route.clone(),
        "method" => method,
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!(REQUEST_DURATION_SECONDS, "route" => route).record(elapsed.as_secs_f64());
}
