//! `bootstrap`: the kiltx CloudFormation macro's Lambda function.

use std::sync::Arc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::value::RawValue;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // Read once; a broken configuration fails every invocation with its message instead of
    // crash-looping the runtime.
    let function = Arc::new(kiltx_lambda::Function::load(|k| std::env::var(k).ok()).await);
    for e in [
        &function.config.as_ref().err(),
        &function.registries.as_ref().err(),
    ]
    .into_iter()
    .flatten()
    {
        eprintln!("kiltx macro: invalid configuration: {e}");
    }
    // The event as JSON text: kiltx reads it (kiltx_lambda::decode_raw), so that an event the
    // runtime's reader would refuse (nested too deep) still gets an answer.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let function = Arc::clone(&function);
        async move { kiltx_lambda::handler(&function, event).await }
    }))
    .await
}
