//! The macro's request, decoded from the raw event.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::error::RequestError;
use crate::response::MacroResponse;

/// A CloudFormation macro request.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MacroRequest {
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub account_id: String,
    #[serde(default)]
    pub fragment: Value,
    #[serde(default)]
    pub transform_id: String,
    #[serde(default)]
    pub params: Value,
    #[serde(default)]
    pub request_id: String,
    #[serde(default)]
    pub template_parameter_values: Map<String, Value>,
}

/// How deep the event's objects and arrays may nest: serde_json's recursion limit.
pub const MAX_EVENT_DEPTH: usize = 128;

/// Decode the event as the Runtime API delivers it (its JSON text, read by `bootstrap` as a
/// [`RawValue`] so that nothing is refused before kiltx sees it), then as [`decode`] does.
/// JSON that makes no value (nested deeper than [`MAX_EVENT_DEPTH`], a number out of range)
/// still gets a `failure` naming why, echoing the request ID when the event has one, where
/// the runtime's own reader would have made it an invocation error with no answer.
pub fn decode_raw(event: &RawValue) -> Result<MacroRequest, Box<MacroResponse>> {
    match serde_json::from_str::<Value>(event.get()) {
        Ok(value) => decode(value),
        Err(e) => {
            // The request ID through a reader that skips everything else without recursing
            // (serde_json skips ignored values iteratively, whatever their depth).
            #[derive(Deserialize)]
            struct Id {
                #[serde(rename = "requestId", default)]
                request_id: Option<String>,
            }
            let request_id = serde_json::from_str::<Id>(event.get())
                .ok()
                .and_then(|id| id.request_id)
                .unwrap_or_default();
            let error = if e.to_string().starts_with("recursion limit exceeded") {
                RequestError::TooDeep(e)
            } else {
                RequestError::NotJson(e)
            };
            Err(Box::new(MacroResponse::failure(
                request_id,
                Value::Null,
                &error,
            )))
        }
    }
}

/// Decode a raw event into a request. An event that is not a macro request still gets an
/// answer (a failure naming the problem), echoing whatever request ID it had.
pub fn decode(mut event: Value) -> Result<MacroRequest, Box<MacroResponse>> {
    let request_id = event
        .get("requestId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    // Take the (possibly large) fragment out, so that it is neither copied nor lost.
    let fragment = event.as_object_mut().and_then(|m| m.remove("fragment"));
    let Some(fragment) = fragment else {
        return Err(Box::new(MacroResponse::failure(
            request_id,
            Value::Null,
            &RequestError::NoFragment,
        )));
    };
    match serde_json::from_value::<MacroRequest>(event) {
        Ok(mut request) => {
            request.fragment = fragment;
            Ok(request)
        }
        Err(e) => Err(Box::new(MacroResponse::failure(
            request_id,
            fragment,
            &RequestError::NotARequest(e),
        ))),
    }
}
