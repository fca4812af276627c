//! Amazon ECR: registry tokens from `GetAuthorizationToken`, for the image's own account and
//! region, with the default AWS credential chain.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use tokio::sync::OnceCell;

use crate::auth::EcrRegistry;
use crate::error::Error;

#[derive(Default)]
pub struct Ecr {
    shared: OnceCell<SdkConfig>,
}

impl Ecr {
    /// The `Authorization` header value for `registry` (`Basic base64(AWS:password)`).
    pub async fn authorization(
        &self,
        host: &str,
        registry: &EcrRegistry,
        timeout: Duration,
    ) -> Result<String, Error> {
        let fail = |detail: String| Error::Ecr {
            registry: host.to_string(),
            account: registry.account.clone(),
            region: registry.region.clone(),
            detail,
        };
        let shared = self
            .shared
            .get_or_init(|| aws_config::defaults(BehaviorVersion::latest()).load())
            .await;
        let conf = aws_sdk_ecr::config::Builder::from(shared)
            .region(Region::new(registry.region.clone()))
            .build();
        let client = aws_sdk_ecr::Client::from_conf(conf);
        #[allow(deprecated)] // registryIds is deprecated but is how to name another account.
        let call = client
            .get_authorization_token()
            .registry_ids(registry.account.clone())
            .send();
        let out = tokio::time::timeout(timeout, call)
            .await
            .map_err(|_| fail(format!("no answer within {}s", timeout.as_secs())))?
            .map_err(|e| fail(aws_sdk_ecr::error::DisplayErrorContext(&e).to_string()))?;
        let token = out
            .authorization_data()
            .iter()
            .find_map(|d| d.authorization_token())
            .ok_or_else(|| fail("the answer holds no authorization token".into()))?;
        Ok(format!("Basic {token}"))
    }
}
