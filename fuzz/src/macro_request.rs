//! The checks behind the `macro_request` fuzz target: the CloudFormation macro's request
//! decoding and handling, offline (what `bootstrap` does with an event once the runtime has
//! read it, minus registry lookups).
//!
//! Input layout: the first byte selects the function's configuration (`b & 1`:
//! `KILTX_OPT_IN`, `b & 2`: `KILTX_INCLUDE_EC2`), the rest is the event body as the Lambda
//! runtime receives it (decoded with `serde_json`, as the runtime does; bodies that are not JSON
//! never reach the handler and are skipped).
//!
//! Invariants: nothing panics; the answer echoes the request ID and says `success` or `failure`;
//! a `failure` names its reason; on failure the fragment comes back as it was; handling is
//! deterministic.

use kiltx_lambda::{decode, handle, Config, ConfigError, MacroResponse};
use serde_json::Value;

fn config(sel: u8) -> Result<Config, ConfigError> {
    Config::from_env(|k| match k {
        "KILTX_OPT_IN" if sel & 1 != 0 => Some("true".into()),
        "KILTX_INCLUDE_EC2" if sel & 2 != 0 => Some("true".into()),
        _ => None,
    })
}

/// Run one event through decode + handle; panics on a violated invariant.
pub fn check(data: &[u8]) {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let Ok(event) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let config = config(sel);
    let f = crate::fixed();
    let request_id = event
        .get("requestId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let fragment = event.get("fragment").cloned().unwrap_or(Value::Null);
    let answer = |event: Value| -> MacroResponse {
        match decode(event) {
            Ok(request) => handle(&config, request, &f.images),
            Err(answer) => *answer,
        }
    };
    let first = answer(event.clone());
    assert_eq!(
        first.request_id, request_id,
        "the answer echoes the request ID"
    );
    match first.status.as_str() {
        "success" => assert!(
            first.error_message.is_none(),
            "success with an error message"
        ),
        "failure" => {
            assert!(
                first.error_message.as_ref().is_some_and(|m| !m.is_empty()),
                "failure without a reason"
            );
            assert!(first.fragment == fragment, "failure changed the fragment");
        }
        other => panic!("status {other:?} is neither success nor failure"),
    }
    let json = serde_json::to_string(&first).expect("the answer serialises");
    let _: Value = serde_json::from_str(&json).expect("the answer is JSON");
    assert_eq!(
        first,
        answer(event),
        "determinism: the same event, another answer"
    );
}
