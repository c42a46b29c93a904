//! Reading JSON bodies by hand, after authentication, so that the check
//! order holds and every failure has the error shape.

use actix_web::HttpRequest;
use actix_web::http::header;
use actix_web::web::Payload;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use actix_web::http::StatusCode;

/// Reads at most `limit` bytes of `application/json` and decodes them.
pub async fn json<T: DeserializeOwned>(
    req: &HttpRequest,
    payload: Payload,
    limit: usize,
) -> Result<T, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "The request body must be application/json.",
        ));
    }
    let bytes = match payload.to_bytes_limited(limit).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => {
            return Err(ApiError::invalid(
                "body",
                "The request body could not be read.",
            ));
        }
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("The request body is larger than {limit} bytes."),
            ));
        }
    };
    serde_json::from_slice(&bytes).map_err(|e| {
        // serde's message names the field or position, never echoes values
        // beyond a short token; keep it as a hint.
        ApiError::invalid("body", "The request body is not valid JSON for this route.")
            .detail("reason", e.to_string())
    })
}
