//! Credentials: docker `config.json` files, `WWW-Authenticate` challenges, ECR registry names.

use std::collections::BTreeMap;

use base64::Engine as _;

use crate::error::Error;

/// Basic credentials by registry host.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    by_host: BTreeMap<String, (String, String)>,
}

impl Credentials {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, host: &str, user: &str, password: &str) {
        self.by_host
            .insert(host_key(host), (user.to_string(), password.to_string()));
    }

    pub fn get(&self, host: &str) -> Option<&(String, String)> {
        self.by_host.get(&host_key(host)).or_else(|| {
            // Docker Hub is stored under its legacy index URL.
            if host == "docker.io" || host == "registry-1.docker.io" {
                self.by_host.get("index.docker.io")
            } else {
                None
            }
        })
    }

    pub fn is_empty(&self) -> bool {
        self.by_host.is_empty()
    }

    /// Read a docker `config.json` (`{"auths": {"HOST": {"auth": base64(user:password)}}}`,
    /// or `username`/`password`). Credential helpers (`credsStore`, `credHelpers`) are not run.
    pub fn from_docker_config(text: &str, origin: &str) -> Result<Credentials, Error> {
        let bad = |detail: String| Error::Credentials {
            origin: origin.to_string(),
            detail,
        };
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| bad(format!("not a docker config.json: {e}")))?;
        let mut out = Credentials::new();
        let Some(auths) = v.get("auths") else {
            return Ok(out);
        };
        let auths = auths
            .as_object()
            .ok_or_else(|| bad("\"auths\" is not an object".into()))?;
        for (host, entry) in auths {
            let field = |k: &str| entry.get(k).and_then(|v| v.as_str()).unwrap_or("");
            let (user, password) = if !field("auth").is_empty() {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(field("auth").trim())
                    .map_err(|e| bad(format!("auths.{host}.auth is not base64: {e}")))?;
                let raw = String::from_utf8(raw)
                    .map_err(|_| bad(format!("auths.{host}.auth is not UTF-8")))?;
                let (u, p) = raw.split_once(':').ok_or_else(|| {
                    bad(format!("auths.{host}.auth is not base64 of USER:PASSWORD"))
                })?;
                (u.to_string(), p.to_string())
            } else if !field("username").is_empty() {
                (field("username").to_string(), field("password").to_string())
            } else {
                continue;
            };
            out.insert(host, &user, &password);
        }
        Ok(out)
    }
}

/// `https://index.docker.io/v1/` → `index.docker.io`; `host:5000` stays.
fn host_key(host: &str) -> String {
    let h = host
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let h = h.split('/').next().unwrap_or(h);
    h.to_ascii_lowercase()
}

pub fn basic_header(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// A parsed `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parse `Bearer realm="https://auth",service="registry",scope="repository:a:pull"` or `Basic realm=...`.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut params = BTreeMap::new();
    let mut s = rest.trim();
    while !s.is_empty() {
        let (key, after) = s.split_once('=')?;
        let key = key.trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = q.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, &q[end?..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        params.insert(key, value);
        s = next.trim_start().trim_start_matches(',').trim_start();
    }
    Some(Challenge::Bearer {
        realm: params.remove("realm")?,
        service: params.remove("service"),
        scope: params.remove("scope"),
    })
}

/// An Amazon ECR private registry: `ACCOUNT.dkr.ecr[-fips].REGION.amazonaws.com[.cn]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrRegistry {
    pub account: String,
    pub region: String,
}

pub fn ecr_registry(host: &str) -> Option<EcrRegistry> {
    let host = host.to_ascii_lowercase();
    let rest = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
    let mut parts = rest.split('.');
    let account = parts.next()?;
    let dkr = parts.next()?;
    let ecr = parts.next()?;
    let region = parts.next()?;
    if parts.next().is_some()
        || account.len() != 12
        || !account.bytes().all(|b| b.is_ascii_digit())
        || dkr != "dkr"
        || !(ecr == "ecr" || ecr == "ecr-fips")
        || region.is_empty()
    {
        return None;
    }
    Some(EcrRegistry {
        account: account.to_string(),
        region: region.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/nginx:pull".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(
            parse_challenge("bearer realm=http://x/t, service=reg"),
            Some(Challenge::Bearer {
                realm: "http://x/t".into(),
                service: Some("reg".into()),
                scope: None,
            })
        );
        assert_eq!(parse_challenge("Negotiate abc"), None);
    }

    #[test]
    fn recognises_ecr_registries() {
        assert_eq!(
            ecr_registry("123456789012.dkr.ecr.eu-west-1.amazonaws.com"),
            Some(EcrRegistry {
                account: "123456789012".into(),
                region: "eu-west-1".into()
            })
        );
        assert_eq!(
            ecr_registry("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn")
                .unwrap()
                .region,
            "cn-north-1"
        );
        assert!(ecr_registry("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com").is_some());
        assert_eq!(ecr_registry("public.ecr.aws"), None);
        assert_eq!(ecr_registry("12345.dkr.ecr.eu-west-1.amazonaws.com"), None);
    }

    #[test]
    fn reads_docker_config() {
        let c = Credentials::from_docker_config(
            r#"{"auths": {"https://index.docker.io/v1/": {"auth": "dTpw"}, "localhost:5001": {"username": "a", "password": "b"}}}"#,
            "config.json",
        )
        .unwrap();
        assert_eq!(c.get("docker.io"), Some(&("u".into(), "p".into())));
        assert_eq!(c.get("localhost:5001"), Some(&("a".into(), "b".into())));
        assert!(Credentials::from_docker_config("{", "c").is_err());
    }
}
