//! The macro's request, decoded from the raw event.

use serde::Deserialize;
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
