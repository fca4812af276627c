//! The OCI distribution API client: manifests, image indexes, config blobs, authentication,
//! caches.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use kilt_defs::image::ImageConfig;
use kilt_defs::reference::Reference;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::Value;
use sha2::Digest as _;
use tokio::sync::{OnceCell, Semaphore};

use crate::auth::{self, Challenge};
use crate::ecr::Ecr;
use crate::error::Error;
use crate::{BoxFuture, ImageSource, Options, Resolved};

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// Manifests and configs are small; anything bigger is not one.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// A lazily computed, shared value per key: concurrent askers wait for one computation.
struct Memo<K, V> {
    map: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}

impl<K: Eq + Hash, V: Clone> Memo<K, V> {
    fn new() -> Self {
        Memo {
            map: Mutex::new(HashMap::new()),
        }
    }

    async fn get<F: Future<Output = V>>(&self, key: K, compute: F) -> V {
        let cell = {
            let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(key).or_default().clone()
        };
        cell.get_or_init(|| compute).await.clone()
    }

    /// Record a value computed elsewhere (a manifest fetched by tag is also known by digest).
    fn put(&self, key: K, value: V) {
        let cell = {
            let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(key).or_default().clone()
        };
        let _ = cell.set(value);
    }
}

#[derive(Debug, Clone)]
enum Manifest {
    Index(Vec<IndexEntry>),
    Image { config: String },
}

#[derive(Debug, Clone)]
struct IndexEntry {
    digest: String,
    os: String,
    arch: String,
    variant: Option<String>,
}

#[derive(Debug, Clone)]
struct Fetched {
    manifest: Manifest,
    digest: String,
}

#[derive(Debug, Clone)]
struct Config {
    config: ImageConfig,
    os: Option<String>,
    arch: Option<String>,
}

/// The real [`ImageSource`]: any OCI registry, Docker Hub, Amazon ECR.
pub struct Registries {
    /// Honours HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY, for registries elsewhere.
    http: reqwest::Client,
    /// Never proxied, for registries and token services on this machine: a proxy cannot reach
    /// this machine's loopback (Go's net/http, and so Docker, make the same exception).
    direct: reqwest::Client,
    opts: Options,
    ecr: Ecr,
    requests: AtomicUsize,
    slots: Semaphore,
    log: Mutex<Vec<String>>,
    lookups: Memo<(String, String), Result<Resolved, Error>>,
    manifests: Memo<(String, String), Result<Fetched, Error>>,
    configs: Memo<String, Result<Config, Error>>,
    /// `Authorization` values: per registry host (Basic, ECR) and per (host, repository) (Bearer).
    host_auth: Mutex<HashMap<String, String>>,
    repo_auth: Mutex<HashMap<(String, String), String>>,
    /// Registries known to use Bearer tokens (realm, service): later repositories get their
    /// token before their first request instead of after a 401.
    bearer_realms: Mutex<HashMap<String, (String, Option<String>)>>,
    tokens: Memo<(String, String), Result<String, Error>>,
    ecr_tokens: Memo<String, Result<String, Error>>,
}

impl Registries {
    /// The client for `url`: direct for this machine's loopback, else through the proxy the
    /// environment names, if any.
    fn client(&self, url: &str) -> &reqwest::Client {
        let local = reqwest::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(kilt_defs::reference::is_loopback_host))
            .unwrap_or(false);
        if local {
            &self.direct
        } else {
            &self.http
        }
    }

    pub fn new(opts: Options) -> Result<Registries, Error> {
        let max_requests = opts.max_requests.max(1);
        let client = |direct: bool| {
            let b = reqwest::Client::builder()
                .user_agent(concat!("kiltx/", env!("CARGO_PKG_VERSION")))
                .timeout(opts.request_timeout)
                .connect_timeout(opts.request_timeout);
            let b = if direct { b.no_proxy() } else { b };
            b.build()
                .map_err(|e| Error::Usage(format!("cannot create the HTTP client: {e}")))
        };
        Ok(Registries {
            http: client(false)?,
            direct: client(true)?,
            opts,
            ecr: Ecr::default(),
            requests: AtomicUsize::new(0),
            slots: Semaphore::new(max_requests),
            log: Mutex::new(Vec::new()),
            lookups: Memo::new(),
            manifests: Memo::new(),
            configs: Memo::new(),
            host_auth: Mutex::new(HashMap::new()),
            repo_auth: Mutex::new(HashMap::new()),
            bearer_realms: Mutex::new(HashMap::new()),
            tokens: Memo::new(),
            ecr_tokens: Memo::new(),
        })
    }

    /// HTTP requests made so far (registries and token endpoints; not the ECR API).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// The URLs requested so far, in order (for benchmarks and tests).
    pub fn request_log(&self) -> Vec<String> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Where `registry`'s API is: an explicit endpoint, else HTTPS, or HTTP for loopback
    /// and `--insecure-registry` hosts.
    fn base_url(&self, r: &Reference) -> String {
        if let Some(u) = self.opts.endpoints.get(&r.registry.to_ascii_lowercase()) {
            return u.clone();
        }
        let host = r.api_host();
        let insecure = self
            .opts
            .insecure_registries
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&r.registry) || h.eq_ignore_ascii_case(host));
        if insecure || r.is_loopback() {
            format!("http://{host}")
        } else {
            format!("https://{host}")
        }
    }

    async fn lookup(&self, r: &Reference, platform: &str) -> Result<Resolved, Error> {
        let top = self.manifest(r, r.manifest_reference()).await?;
        let (os, arch) = platform.split_once('/').unwrap_or(("linux", platform));
        match &top.manifest {
            Manifest::Index(entries) => {
                let chosen = select(entries, os, arch).ok_or_else(|| Error::Platform {
                    registry: r.registry.clone(),
                    wanted: platform.to_string(),
                    available: entries
                        .iter()
                        .filter(|e| e.os != "unknown")
                        .map(|e| match &e.variant {
                            Some(v) => format!("{}/{}/{v}", e.os, e.arch),
                            None => format!("{}/{}", e.os, e.arch),
                        })
                        .collect(),
                })?;
                let inner = self.manifest(r, &chosen.digest).await?;
                let Manifest::Image { config } = &inner.manifest else {
                    return Err(Error::Content {
                        registry: r.registry.clone(),
                        what: format!("the {platform} entry of the index ({})", chosen.digest),
                        detail: "it is another index, not an image manifest".into(),
                        hint: "publish the image with a flat index (docker buildx, skopeo)".into(),
                    });
                };
                let c = self.config(r, config).await?;
                Ok(Resolved {
                    config: c.config,
                    platform: platform.to_string(),
                    from_index: true,
                    manifest_digest: inner.digest,
                })
            }
            Manifest::Image { config } => {
                let c = self.config(r, config).await?;
                if let (Some(o), Some(a)) = (&c.os, &c.arch) {
                    if !(o == os && a == arch) {
                        return Err(Error::Platform {
                            registry: r.registry.clone(),
                            wanted: platform.to_string(),
                            available: vec![format!("{o}/{a}")],
                        });
                    }
                }
                Ok(Resolved {
                    config: c.config,
                    platform: platform.to_string(),
                    from_index: false,
                    manifest_digest: top.digest,
                })
            }
        }
    }

    async fn manifest(&self, r: &Reference, reference: &str) -> Result<Fetched, Error> {
        let key = (r.name(), reference.to_string());
        let fetched = self
            .manifests
            .get(key, Box::pin(self.fetch_manifest(r, reference)))
            .await;
        if let Ok(f) = &fetched {
            if f.digest != reference {
                self.manifests
                    .put((r.name(), f.digest.clone()), fetched.clone());
            }
        }
        fetched
    }

    async fn fetch_manifest(&self, r: &Reference, reference: &str) -> Result<Fetched, Error> {
        let what = format!("the manifest of {}", r.name());
        let (content_type, header_digest, body) =
            Box::pin(self.get(r, &format!("manifests/{reference}"), Some(ACCEPT_MANIFESTS)))
                .await?;
        let digest = if reference.contains(':') {
            verify(r, &what, reference, &body)?;
            reference.to_string()
        } else {
            let d = sha256(&body);
            if let Some(h) = header_digest.filter(|h| h.starts_with("sha256:")) {
                if h != d {
                    return Err(Error::Digest {
                        registry: r.registry.clone(),
                        what,
                        expected: h,
                        actual: d,
                    });
                }
            }
            d
        };
        let manifest = parse_manifest(r, &what, content_type.as_deref(), &body)?;
        Ok(Fetched { manifest, digest })
    }

    async fn config(&self, r: &Reference, digest: &str) -> Result<Config, Error> {
        self.configs
            .get(digest.to_string(), Box::pin(self.fetch_config(r, digest)))
            .await
    }

    async fn fetch_config(&self, r: &Reference, digest: &str) -> Result<Config, Error> {
        let what = format!("the config blob {digest} of {}", r.name());
        let (_, _, body) = Box::pin(self.get(r, &format!("blobs/{digest}"), None)).await?;
        verify(r, &what, digest, &body)?;
        let bad = |detail: String| Error::Content {
            registry: r.registry.clone(),
            what: what.clone(),
            detail,
            hint: "the image is damaged: re-push it".into(),
        };
        let v: Value = serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?;
        let c = v.get("config").unwrap_or(&Value::Null);
        let strings = |key: &str| -> Result<Option<Vec<String>>, Error> {
            match c.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|x| {
                        x.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| bad(format!("config.{key} holds a non-string")))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some),
                Some(_) => Err(bad(format!("config.{key} is not a list of strings"))),
            }
        };
        let text = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
        Ok(Config {
            config: ImageConfig {
                entrypoint: strings("Entrypoint")?,
                cmd: strings("Cmd")?,
            },
            os: text("os"),
            arch: text("architecture"),
        })
    }

    fn cached_auth(&self, r: &Reference) -> Option<String> {
        let repo = self
            .repo_auth
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(r.registry.clone(), r.repository.clone()))
            .cloned();
        repo.or_else(|| {
            self.host_auth
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&r.registry)
                .cloned()
        })
    }

    /// GET `/v2/<repository>/<path>`, authenticating as the registry asks.
    /// Returns the content type, the `Docker-Content-Digest` and the body.
    async fn get(
        &self,
        r: &Reference,
        path: &str,
        accept: Option<&str>,
    ) -> Result<(Option<String>, Option<String>, Vec<u8>), Error> {
        let url = format!("{}/v2/{}/{path}", self.base_url(r), r.repository);
        let mut authorization = self.cached_auth(r);
        if authorization.is_none() {
            if let Some(ecr) = auth::ecr_registry(&r.registry) {
                // One GetAuthorizationToken per registry and run, however many lookups wait.
                let a = self
                    .ecr_tokens
                    .get(
                        r.registry.clone(),
                        Box::pin(self.ecr.authorization(
                            &r.registry,
                            &ecr,
                            self.opts.request_timeout,
                        )),
                    )
                    .await?;
                self.host_auth
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(r.registry.clone(), a.clone());
                authorization = Some(a);
            } else {
                let known = self
                    .bearer_realms
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&r.registry)
                    .cloned();
                if let Some((realm, service)) = known {
                    authorization = Some(self.bearer(r, &realm, service).await?);
                }
            }
        }
        let mut challenged = false;
        loop {
            let mut req = self.client(&url).get(&url);
            if let Some(a) = accept {
                req = req.header(ACCEPT, a);
            }
            if let Some(a) = &authorization {
                req = req.header(AUTHORIZATION, a);
            }
            let (status, headers, body) = Box::pin(self.send(r, &url, req)).await?;
            if status == 401 && !challenged {
                challenged = true;
                let challenge = headers
                    .get(WWW_AUTHENTICATE)
                    .and_then(|h| h.to_str().ok())
                    .and_then(auth::parse_challenge);
                match challenge {
                    Some(Challenge::Bearer { realm, service, .. }) => {
                        self.bearer_realms
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(r.registry.clone(), (realm.clone(), service.clone()));
                        authorization = Some(self.bearer(r, &realm, service).await?);
                        continue;
                    }
                    Some(Challenge::Basic) => {
                        if let Some((u, p)) = self.opts.credentials.get(&r.registry) {
                            let a = auth::basic_header(u, p);
                            if authorization.as_deref() != Some(a.as_str()) {
                                self.host_auth
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .insert(r.registry.clone(), a.clone());
                                authorization = Some(a);
                                continue;
                            }
                        }
                    }
                    None => {}
                }
            }
            let content_type = headers
                .get(CONTENT_TYPE)
                .and_then(|h| h.to_str().ok())
                .map(|s| s.split(';').next().unwrap_or(s).trim().to_string());
            let digest = headers
                .get("docker-content-digest")
                .and_then(|h| h.to_str().ok())
                .map(str::to_string);
            if !(200..300).contains(&status) {
                let has_credentials = authorization.is_some();
                let hint = match auth::ecr_registry(&r.registry) {
                    Some(ecr) if status == 401 || status == 403 => format!(
                        "the ECR token of account {} ({}) does not allow pulling {}: check that the AWS credentials allow ecr:BatchGetImage and ecr:GetDownloadUrlForLayer, and the repository policy (for a cross-account image, it must grant your account)",
                        ecr.account, ecr.region, r.repository
                    ),
                    _ => Error::status_hint(status, has_credentials),
                };
                return Err(Error::Status {
                    registry: r.registry.clone(),
                    url,
                    status,
                    answer: answer_text(status, &body),
                    hint,
                });
            }
            return Ok((content_type, digest, body));
        }
    }

    /// `Bearer <token>` for `r`'s repository: one token request per repository and run.
    async fn bearer(
        &self,
        r: &Reference,
        realm: &str,
        service: Option<String>,
    ) -> Result<String, Error> {
        let key = (r.registry.clone(), r.repository.clone());
        let token = self
            .tokens
            .get(key.clone(), Box::pin(self.token(r, realm, service)))
            .await?;
        let a = format!("Bearer {token}");
        self.repo_auth
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, a.clone());
        Ok(a)
    }

    /// The Bearer-token flow: ask the challenge's realm for a pull token.
    async fn token(
        &self,
        r: &Reference,
        realm: &str,
        service: Option<String>,
    ) -> Result<String, Error> {
        let scope = format!("repository:{}:pull", r.repository);
        let mut params = vec![("scope", scope)];
        if let Some(s) = service {
            params.push(("service", s));
        }
        let url = reqwest::Url::parse_with_params(realm, &params).map_err(|e| Error::Content {
            registry: r.registry.clone(),
            what: "an authentication challenge".into(),
            detail: format!("realm {realm:?} is not a URL: {e}"),
            hint: "the registry is misconfigured".into(),
        })?;
        let mut req = self.client(url.as_str()).get(url.clone());
        let creds = self.opts.credentials.get(&r.registry);
        if let Some((u, p)) = creds {
            req = req.basic_auth(u, Some(p));
        }
        let (status, _, body) = self.send(r, url.as_str(), req).await?;
        if !(200..300).contains(&status) {
            return Err(Error::Status {
                registry: r.registry.clone(),
                url: url.to_string(),
                status,
                answer: answer_text(status, &body),
                hint: format!(
                    "the registry's token service refused a pull token; {}",
                    Error::status_hint(status, creds.is_some())
                ),
            });
        }
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        v.get("token")
            .or_else(|| v.get("access_token"))
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| Error::Content {
                registry: r.registry.clone(),
                what: format!("the token answer of {url}"),
                detail: "it holds no \"token\" or \"access_token\"".into(),
                hint: "the registry's token service is misconfigured".into(),
            })
    }

    /// One HTTP exchange, holding one of the `max_requests` slots from sending to the end of
    /// the body: all lookups start at once, their requests take turns (first come, first served).
    async fn send(
        &self,
        r: &Reference,
        url: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<(u16, HeaderMap, Vec<u8>), Error> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| Error::Usage("the request slots were closed".into()))?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(url.to_string());
        let resp = req.send().await.map_err(|e| self.transport(r, url, e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = self.body(r, url, resp).await?;
        Ok((status, headers, body))
    }

    async fn body(
        &self,
        r: &Reference,
        url: &str,
        mut resp: reqwest::Response,
    ) -> Result<Vec<u8>, Error> {
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport(r, url, e))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BODY {
                return Err(Error::Content {
                    registry: r.registry.clone(),
                    what: url.to_string(),
                    detail: format!("it is larger than {MAX_BODY} bytes"),
                    hint: "this is not a manifest or image config; check --registry-endpoint"
                        .into(),
                });
            }
        }
        Ok(body)
    }

    fn transport(&self, r: &Reference, url: &str, e: reqwest::Error) -> Error {
        if e.is_timeout() {
            return Error::Timeout {
                registry: r.registry.clone(),
                url: url.to_string(),
                secs: self.opts.request_timeout.as_secs(),
            };
        }
        let mut detail = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            detail.push_str(": ");
            detail.push_str(&s.to_string());
            source = s.source();
        }
        let hint = if url.starts_with("https://") {
            "check the host name and the network; if the registry serves plain HTTP, name it with --insecure-registry HOST[:PORT]; if it uses a private CA, point at a mirror with --registry-endpoint HOST=URL"
        } else {
            "check the host name, the port and the network"
        };
        Error::Transport {
            registry: r.registry.clone(),
            url: url.to_string(),
            detail,
            hint: hint.into(),
        }
    }
}

impl ImageSource for Registries {
    fn image_config<'a>(
        &'a self,
        image: &'a Reference,
        platform: &'a str,
    ) -> BoxFuture<'a, Result<Resolved, Error>> {
        Box::pin(async move {
            self.lookups
                .get(
                    (image.to_string(), platform.to_string()),
                    Box::pin(self.lookup(image, platform)),
                )
                .await
        })
    }
}

fn sha256(body: &[u8]) -> String {
    format!("sha256:{:x}", sha2::Sha256::digest(body))
}

fn verify(r: &Reference, what: &str, expected: &str, body: &[u8]) -> Result<(), Error> {
    let actual = match expected.split_once(':') {
        Some(("sha256", _)) => sha256(body),
        Some(("sha512", _)) => format!("sha512:{:x}", sha2::Sha512::digest(body)),
        _ => {
            return Err(Error::Content {
                registry: r.registry.clone(),
                what: what.to_string(),
                detail: format!("digest {expected} uses an algorithm kiltx cannot verify"),
                hint: "use a sha256 digest".into(),
            })
        }
    };
    if actual != expected {
        return Err(Error::Digest {
            registry: r.registry.clone(),
            what: what.to_string(),
            expected: expected.to_string(),
            actual,
        });
    }
    Ok(())
}

fn parse_manifest(
    r: &Reference,
    what: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Manifest, Error> {
    let bad = |detail: String, hint: &str| Error::Content {
        registry: r.registry.clone(),
        what: what.to_string(),
        detail,
        hint: hint.to_string(),
    };
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| bad(format!("not JSON: {e}"), "check --registry-endpoint"))?;
    let media_type = v
        .get("mediaType")
        .and_then(Value::as_str)
        .or(content_type.filter(|c| !c.is_empty() && *c != "application/json"))
        .map(str::to_string)
        .unwrap_or_else(|| {
            if v.get("manifests").is_some() {
                OCI_INDEX.to_string()
            } else {
                OCI_MANIFEST.to_string()
            }
        });
    match media_type.as_str() {
        OCI_INDEX | DOCKER_LIST => {
            let list = v
                .get("manifests")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("an index without \"manifests\"".into(), "re-push the image"))?;
            let mut entries = Vec::new();
            for m in list {
                let Some(digest) = m.get("digest").and_then(Value::as_str) else {
                    return Err(bad(
                        "an index entry without a digest".into(),
                        "re-push the image",
                    ));
                };
                let p = m.get("platform");
                let text = |k: &str| {
                    p.and_then(|p| p.get(k))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                };
                entries.push(IndexEntry {
                    digest: digest.to_string(),
                    os: text("os").unwrap_or_else(|| "unknown".into()),
                    arch: text("architecture").unwrap_or_else(|| "unknown".into()),
                    variant: text("variant"),
                });
            }
            Ok(Manifest::Index(entries))
        }
        OCI_MANIFEST | DOCKER_MANIFEST => {
            let config = v
                .get("config")
                .and_then(|c| c.get("digest"))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    bad(
                        "a manifest without config.digest".into(),
                        "re-push the image",
                    )
                })?;
            Ok(Manifest::Image {
                config: config.to_string(),
            })
        }
        other if other.contains("manifest.v1") => Err(bad(
            format!("a Docker schema 1 manifest ({other})"),
            "schema 1 is obsolete: re-push the image with a current docker, buildah or skopeo",
        )),
        other => Err(bad(
            format!("an unsupported media type {other:?}"),
            "push it as an OCI or Docker v2 schema 2 image",
        )),
    }
}

/// The index entry for `os/arch`: an exact variant-less match (or arm64's `v8`) first.
fn select<'a>(entries: &'a [IndexEntry], os: &str, arch: &str) -> Option<&'a IndexEntry> {
    let matching = || entries.iter().filter(|e| e.os == os && e.arch == arch);
    matching()
        .find(|e| e.variant.is_none() || e.variant.as_deref() == Some("v8"))
        .or_else(|| matching().next())
}

/// What an error body says: the distribution API's `errors[].code: message`, or the text.
fn answer_text(status: u16, body: &[u8]) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let detail = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            let errs = v.get("errors")?.as_array()?;
            let parts: Vec<String> = errs
                .iter()
                .map(|e| {
                    let code = e.get("code").and_then(Value::as_str).unwrap_or("");
                    let msg = e.get("message").and_then(Value::as_str).unwrap_or("");
                    format!("{code} {msg}").trim().to_string()
                })
                .collect();
            Some(parts.join("; "))
        })
        .unwrap_or_else(|| {
            let t = String::from_utf8_lossy(body);
            let t = t.trim();
            t.chars().take(200).collect()
        });
    if detail.is_empty() {
        reason.to_string()
    } else {
        format!("{reason}: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_platforms() {
        let e = |arch: &str, variant: Option<&str>| IndexEntry {
            digest: format!("sha256:{arch}{}", variant.unwrap_or("")),
            os: "linux".into(),
            arch: arch.into(),
            variant: variant.map(str::to_string),
        };
        let entries = vec![
            e("arm", Some("v7")),
            e("arm64", Some("v8")),
            e("amd64", None),
        ];
        assert_eq!(
            select(&entries, "linux", "arm64").unwrap().digest,
            "sha256:arm64v8"
        );
        assert_eq!(
            select(&entries, "linux", "amd64").unwrap().digest,
            "sha256:amd64"
        );
        assert!(select(&entries, "windows", "amd64").is_none());
    }

    #[test]
    fn error_answers() {
        assert_eq!(
            answer_text(
                404,
                br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#
            ),
            "Not Found: MANIFEST_UNKNOWN manifest unknown"
        );
        assert_eq!(answer_text(500, b""), "Internal Server Error");
    }
}
