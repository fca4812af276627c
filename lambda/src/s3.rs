//! The definition in S3 (`KILTX_DEFINITION_URI`).

use std::time::Duration;

use crate::error::S3Error;

/// Read an `s3://BUCKET/KEY` object as text, with the function's credentials (the SDK's
/// default chain). With a custom S3 endpoint (`AWS_ENDPOINT_URL_S3`), path-style addressing.
pub async fn fetch(uri: &str) -> Result<String, S3Error> {
    let (bucket, key) = uri
        .strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
        .ok_or_else(|| S3Error::Uri {
            uri: uri.to_string(),
        })?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let custom_endpoint = std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL").is_some();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(custom_endpoint)
            .build(),
    );
    let read = async {
        let object = s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| S3Error::Read {
                uri: uri.to_string(),
                detail: aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
            })?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| S3Error::Read {
                uri: uri.to_string(),
                detail: e.to_string(),
            })?
            .into_bytes();
        String::from_utf8(bytes.to_vec()).map_err(|_| S3Error::NotUtf8 {
            uri: uri.to_string(),
        })
    };
    match tokio::time::timeout(Duration::from_secs(20), read).await {
        Ok(r) => r,
        Err(_) => Err(S3Error::Timeout {
            uri: uri.to_string(),
        }),
    }
}
