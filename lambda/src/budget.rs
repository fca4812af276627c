//! Whether a request fits the function: a template that would need more memory than the
//! function has, or more time than the invocation has left, gets a `failure` naming the limit
//! instead of the function being killed mid-way.

use std::time::Duration;

use serde_json::Value;

use crate::error::RequestError;
use crate::request::MacroRequest;

/// Bytes of memory the macro needs per unit of [`weight`] of the fragment: the decoded event,
/// the copies handling makes (the fragment as it came, the patched one, a scratch copy for the
/// image lookups) and the answer's JSON. Measured in `tests/budget.rs`, with room to spare.
pub const BYTES_PER_WEIGHT: u64 = 48;

/// Memory the runtime itself needs, besides the request.
pub const BASE_MEMORY: u64 = 48 << 20;

/// What a fragment weighs: its size as JSON text, about (the engine's cost is proportional to
/// it).
pub fn weight(v: &Value) -> u64 {
    let mut total = 0u64;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        total += match v {
            Value::Null | Value::Bool(_) | Value::Number(_) => 8,
            Value::String(s) => 8 + s.len() as u64,
            Value::Array(items) => {
                stack.extend(items);
                8
            }
            Value::Object(m) => {
                for (k, x) in m {
                    total += 8 + k.len() as u64;
                    stack.push(x);
                }
                8
            }
        };
    }
    total
}

/// Whether handling `request` fits the function: its memory (`memory_mb`, the function's
/// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`) and the time left before the invocation's deadline.
pub fn check_budget(
    request: &MacroRequest,
    memory_mb: Option<u64>,
    time_left: Option<Duration>,
) -> Result<(), RequestError> {
    let w = weight(&request.fragment);
    let need = w
        .saturating_mul(BYTES_PER_WEIGHT)
        .saturating_add(BASE_MEMORY);
    if let Some(mb) = memory_mb {
        if need > mb << 20 {
            return Err(RequestError::TooLargeForMemory {
                need_mb: need.div_ceil(1 << 20),
                have_mb: mb,
            });
        }
    }
    // Patching runs at well over 1 MB/s of template on the smallest function; allow 1 s/MB.
    let time_needed = Duration::from_micros(w);
    if let Some(left) = time_left {
        if time_needed > left {
            return Err(RequestError::TooLargeForTime {
                left_ms: left.as_millis(),
                need_ms: time_needed.as_millis(),
            });
        }
    }
    Ok(())
}

/// The function's memory, from the Lambda environment.
pub(crate) fn memory_size() -> Option<u64> {
    std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        .ok()
        .and_then(|v| v.trim().parse().ok())
}
