//! The macro's budget (issue #18): a request whose template needs more memory than the
//! function has, or more time than is left, gets a `failure` naming the limit instead of the
//! function being killed; what is accepted fits.

mod common;

use std::time::Duration;

use common::bootstrap;
use kilt_defs::image::ImageConfigs;
use kiltx_bench::runtime_api::RuntimeApi;
use kiltx_lambda::{check_budget, decode, decode_raw, handle, weight, Config, BYTES_PER_WEIGHT};
use kiltx_testsupport::growth::{peak_bytes, reset_peak, Counting};
use serde_json::value::RawValue;
use serde_json::{json, Value};

#[global_allocator]
static GLOBAL: Counting = Counting;

fn event(id: &str, fragment: Value) -> Value {
    json!({"region": "eu-west-1", "accountId": "123456789012", "transformId": "123456789012::Kiltx",
           "requestId": id, "fragment": fragment, "params": {}, "templateParameterValues": {}})
}

/// Peak memory of what the function does with one event body: read it as the runtime does
/// (`bootstrap` takes its text), decode it, handle it, write the answer.
fn peak_of_handling(body: &[u8]) -> usize {
    let config = Config::from_env(|_| None);
    let base = reset_peak();
    {
        let raw: Box<RawValue> = serde_json::from_slice(body).expect("event JSON");
        let request = decode_raw(&raw).expect("a macro request");
        drop(raw);
        let answer = handle(&config, request, &ImageConfigs::new());
        let out = serde_json::to_vec(&answer).expect("answer JSON");
        assert!(out.len() > body.len() / 2);
    }
    peak_bytes() - base
}

#[test]
fn the_estimate_covers_what_handling_allocates() {
    let mut ratios = Vec::new();
    for bytes in [250_000, 500_000, 1_000_000, 2_000_000] {
        let fragment = kiltx_bench::cloudformation_template(bytes / 5_000, bytes);
        let w = weight(&fragment);
        let body = serde_json::to_vec(&event("r", fragment)).unwrap();
        let peak = peak_of_handling(&body);
        let ratio = peak as f64 / w as f64;
        eprintln!(
            "{} bytes of event: weight {w}, peak {peak} bytes ({ratio:.1} per unit)",
            body.len()
        );
        assert!(
            peak as u64 <= w * BYTES_PER_WEIGHT,
            "handling peaked at {peak} bytes, the estimate is {}",
            w * BYTES_PER_WEIGHT
        );
        ratios.push(ratio);
    }
    // Proportional: the bytes per unit do not grow with the size.
    assert!(
        ratios[3] <= ratios[..3].iter().cloned().fold(0.0, f64::max) * 1.3,
        "memory per unit of weight grew: {ratios:?}"
    );
}

#[test]
fn over_budget_requests_fail_naming_the_limit() {
    let fragment = kiltx_bench::cloudformation_template(400, 2_000_000);
    let request = decode(event("r", fragment)).unwrap();
    let e = check_budget(&request, Some(64), None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("memory") && e.contains("64 MB") && e.contains("MemorySize"),
        "{e}"
    );
    let e = check_budget(&request, Some(10_240), Some(Duration::from_millis(5)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("time left") && e.contains("Timeout"), "{e}");
    check_budget(&request, Some(10_240), Some(Duration::from_secs(60)))
        .expect("fits 10 GB and a minute");
}

#[test]
fn bootstrap_answers_failure_when_the_template_exceeds_its_memory() {
    let api = RuntimeApi::start();
    let big = kiltx_bench::cloudformation_template(200, 2_400_000);
    api.push("r-big", &event("r-big", big));
    api.push(
        "r-small",
        &event(
            "r-small",
            json!({"Resources": {"Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
                "RequiresCompatibilities": ["FARGATE"],
                "ContainerDefinitions": [{"Name": "app", "Image": "app", "EntryPoint": ["/app"]}]}}}}),
        ),
    );
    let _b = bootstrap(&api, &[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "64")]);
    let answers = api.answers(&["r-big", "r-small"], Duration::from_secs(60));
    let (kind, big) = &answers[0];
    assert_eq!(kind, "response");
    assert_eq!(big["status"], "failure", "{big:?}");
    let message = big["errorMessage"].as_str().unwrap_or_default();
    assert!(
        message.contains("too large for this function's memory") && message.contains("64 MB"),
        "{message}"
    );
    // Still alive, and answering.
    let (kind, small) = &answers[1];
    assert_eq!(kind, "response");
    assert_eq!(small["status"], "success", "{small:?}");
}
