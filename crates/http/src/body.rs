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
    // Through a Value first: serde's derived structs also accept a JSON
    // array of the fields in order, which no client should rely on.
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::invalid("body", "The request body is not valid JSON.")
            .detail("reason", e.to_string())
    })?;
    if !value.is_object() {
        return Err(ApiError::invalid(
            "body",
            "The request body must be a JSON object.",
        ));
    }
    serde_json::from_value(value).map_err(|e| {
        // serde names the field at fault; the value is the caller's own.
        ApiError::invalid(
            "body",
            "The request body does not have the fields this route takes.",
        )
        .detail("reason", e.to_string())
    })
}
