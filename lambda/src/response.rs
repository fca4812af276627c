//! The macro's answer.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::RequestError;

/// The macro's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MacroResponse {
    pub request_id: String,
    /// `success` or `failure`.
    pub status: String,
    /// Always returned: the patched fragment, or on failure the fragment as it came.
    pub fragment: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

impl MacroResponse {
    pub(crate) fn success(request_id: String, fragment: Value) -> Self {
        MacroResponse {
            request_id,
            status: "success".into(),
            fragment,
            error_message: None,
        }
    }

    /// A failure answer, with the fragment as it came.
    pub(crate) fn failure(request_id: String, fragment: Value, error: &RequestError) -> Self {
        MacroResponse {
            request_id,
            status: "failure".into(),
            fragment,
            error_message: Some(error.to_string()),
        }
    }
}
