//! Image resolution for kiltx: an image's ENTRYPOINT and CMD, read from its registry.
//!
//! [`ImageSource`] is what the engine's callers (the CLI, the Lambda) use; [`Registries`] is the
//! real implementation: the OCI distribution API (Docker v2 schema 2 and OCI manifests, image
//! indexes resolved to one platform, digests verified), anonymous, Bearer-token, Basic and
//! Amazon ECR authentication, a cache by reference and by digest, per-request timeouts.
//! [`resolve_all`] runs many lookups concurrently, with a bound and a deadline;
//! [`find_look_up_patch`] is the whole sequence the front ends run around the engine.

pub mod auth;
mod ecr;
pub mod error;
mod flow;
mod registry;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures::StreamExt;
use kilt_defs::image::ImageConfig;
use kilt_defs::reference::Reference;

pub use auth::Credentials;
pub use error::Error;
pub use flow::{find_look_up_patch, find_look_up_patch_blocking, Answer};
pub use registry::Registries;

/// How many HTTP requests [`Registries`] has in flight at once, by default.
pub const DEFAULT_MAX_REQUESTS: usize = 8;

/// How many lookups [`resolve_all`] runs at once, by default. Lookups are cheap futures; what
/// the network sees is bounded by [`Options::max_requests`].
pub const DEFAULT_CONCURRENCY: usize = 64;

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub config: ImageConfig,
    /// `linux/amd64`: the platform whose configuration this is.
    pub platform: String,
    /// The image was a multi-platform index and `platform` was picked from it.
    pub from_index: bool,
    /// Digest of the (platform's) image manifest.
    pub manifest_digest: String,
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something that knows images' configurations.
pub trait ImageSource: Send + Sync {
    /// The configuration of `image` on `platform` (`linux/amd64`, `linux/arm64`).
    fn image_config<'a>(
        &'a self,
        image: &'a Reference,
        platform: &'a str,
    ) -> BoxFuture<'a, Result<Resolved, Error>>;
}

/// Settings for [`Registries`].
#[derive(Debug, Clone)]
pub struct Options {
    /// `HOST[:PORT]` reached over plain HTTP (loopback registries always are).
    pub insecure_registries: Vec<String>,
    /// Registry host → base URL to reach it at (`http://127.0.0.1:5000`): pull-through caches,
    /// mirrors, tests.
    pub endpoints: BTreeMap<String, String>,
    /// Basic credentials by registry host.
    pub credentials: Credentials,
    /// Timeout of every request (HTTP, and each ECR API call).
    pub request_timeout: Duration,
    /// HTTP requests in flight at once (all registries together).
    pub max_requests: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            insecure_registries: Vec::new(),
            endpoints: BTreeMap::new(),
            credentials: Credentials::new(),
            request_timeout: Duration::from_secs(20),
            max_requests: DEFAULT_MAX_REQUESTS,
        }
    }
}

impl Options {
    /// Parse a `--registry-endpoint HOST=URL` value into `endpoints`.
    pub fn add_endpoint(&mut self, spec: &str) -> Result<(), Error> {
        let usage = || {
            Error::Usage(format!(
                "--registry-endpoint {spec:?}: expected HOST=URL, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com=http://127.0.0.1:5000"
            ))
        };
        let (host, url) = spec.split_once('=').ok_or_else(usage)?;
        let url = url.trim().trim_end_matches('/');
        if host.trim().is_empty()
            || !(url.starts_with("http://") || url.starts_with("https://"))
            || url.len() <= "https://".len()
        {
            return Err(usage());
        }
        self.endpoints
            .insert(host.trim().to_ascii_lowercase(), url.to_string());
        Ok(())
    }
}

/// One lookup to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub image: String,
    pub platform: String,
}

impl From<&kilt_defs::patch::NeededImage> for Lookup {
    fn from(n: &kilt_defs::patch::NeededImage) -> Lookup {
        Lookup {
            image: n.image.clone(),
            platform: n.platform.clone(),
        }
    }
}

/// Run `lookups` against `source`, at most `concurrency` at once, all within `deadline`.
/// Answers come back in the order of `lookups`.
pub async fn resolve_all<S: ImageSource + ?Sized>(
    source: &S,
    lookups: &[Lookup],
    concurrency: usize,
    deadline: Duration,
) -> Vec<Result<Resolved, Error>> {
    let until = tokio::time::Instant::now() + deadline;
    let secs = deadline.as_secs();
    futures::stream::iter(lookups.iter().map(|l| async move {
        let reference = Reference::parse(&l.image)?;
        match tokio::time::timeout_at(until, source.image_config(&reference, &l.platform)).await {
            Ok(r) => r,
            Err(_) => Err(Error::Deadline { secs }),
        }
    }))
    .buffered(concurrency.max(1))
    .collect()
    .await
}

/// [`resolve_all`] for callers without a runtime of their own (the CLI).
pub fn resolve_all_blocking<S: ImageSource + ?Sized>(
    source: &S,
    lookups: &[Lookup],
    concurrency: usize,
    deadline: Duration,
) -> Vec<Result<Resolved, Error>> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(resolve_all(source, lookups, concurrency, deadline)),
        Err(e) => lookups
            .iter()
            .map(|_| Err(Error::Usage(format!("cannot start the I/O runtime: {e}"))))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Answers after `delay`, counting how many lookups are in flight at once.
    struct Slow {
        delay: Duration,
        now: AtomicUsize,
        max: AtomicUsize,
    }

    impl ImageSource for Slow {
        fn image_config<'a>(
            &'a self,
            image: &'a Reference,
            platform: &'a str,
        ) -> BoxFuture<'a, Result<Resolved, Error>> {
            Box::pin(async move {
                let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
                self.max.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(self.delay).await;
                self.now.fetch_sub(1, Ordering::SeqCst);
                Ok(Resolved {
                    config: ImageConfig {
                        entrypoint: None,
                        cmd: Some(vec![image.to_string()]),
                    },
                    platform: platform.to_string(),
                    from_index: false,
                    manifest_digest: String::new(),
                })
            })
        }
    }

    fn lookups(n: usize) -> Vec<Lookup> {
        (0..n)
            .map(|i| Lookup {
                image: format!("app{i}"),
                platform: "linux/amd64".into(),
            })
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn lookups_overlap_up_to_the_bound_and_keep_their_order() {
        let src = Slow {
            delay: Duration::from_millis(100),
            now: AtomicUsize::new(0),
            max: AtomicUsize::new(0),
        };
        let start = tokio::time::Instant::now();
        let answers = resolve_all(&src, &lookups(20), 8, Duration::from_secs(60)).await;
        // 20 lookups, 8 at once: 3 waves of 100 ms.
        assert_eq!(start.elapsed(), Duration::from_millis(300));
        assert_eq!(src.max.load(Ordering::SeqCst), 8);
        for (i, a) in answers.iter().enumerate() {
            assert_eq!(
                a.as_ref().unwrap().config.cmd,
                Some(vec![format!("docker.io/library/app{i}:latest")])
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_ends_what_is_left() {
        let src = Slow {
            delay: Duration::from_secs(10),
            now: AtomicUsize::new(0),
            max: AtomicUsize::new(0),
        };
        let mut l = lookups(2);
        l.push(Lookup {
            image: "Not A Reference".into(),
            platform: "linux/amd64".into(),
        });
        let answers = resolve_all(&src, &l, 8, Duration::from_secs(5)).await;
        assert_eq!(answers[0], Err(Error::Deadline { secs: 5 }));
        assert_eq!(answers[1], Err(Error::Deadline { secs: 5 }));
        assert!(matches!(answers[2], Err(Error::Reference(_))));
    }
}
