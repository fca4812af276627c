//! `bootstrap`: the kiltx CloudFormation macro's Lambda function.

use std::sync::Arc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // Read once; a broken configuration fails every invocation with its message instead of
    // crash-looping the runtime.
    let config = Arc::new(kiltx_lambda::Config::from_env(|k| std::env::var(k).ok()));
    if let Err(e) = config.as_ref() {
        eprintln!("kiltx macro: invalid configuration: {e}");
    }
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let config = Arc::clone(&config);
        async move { kiltx_lambda::handler(&config, event).await }
    }))
    .await
}
