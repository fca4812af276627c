//! Image references, parsed the way Docker parses them (distribution/reference): `nginx` is
//! `docker.io/library/nginx:latest`; `host:5000/ns/app:tag@sha256:...` names a registry, a
//! repository, a tag and a digest.
//!
//! Pure string handling: used by the engine (to key image configurations) and by the registry
//! clients (to know whom to ask for what).

use std::fmt;

/// Docker Hub's canonical name, and the host its API really lives on.
pub const DOCKER_HUB: &str = "docker.io";
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

const MAX_NAME: usize = 255;
const MAX_TAG: usize = 128;

/// A parsed, normalised image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    /// `docker.io`, `ghcr.io`, `localhost:5000`, `123456789012.dkr.ecr.eu-west-1.amazonaws.com`.
    pub registry: String,
    /// `library/nginx`, `org/app`.
    pub repository: String,
    /// The tag; `latest` when neither a tag nor a digest was given.
    pub tag: Option<String>,
    /// `sha256:<64 hex>`.
    pub digest: Option<String>,
}

/// Why a reference is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference {reference:?}: {reason}")]
pub struct ReferenceError {
    pub reference: String,
    pub reason: String,
}

impl Reference {
    /// Parse `text` as Docker does (surrounding whitespace is ignored).
    pub fn parse(text: &str) -> Result<Reference, ReferenceError> {
        let input = text.trim();
        let err = |reason: &str| ReferenceError {
            reference: text.to_string(),
            reason: reason.to_string(),
        };
        if input.is_empty() {
            return Err(err("it is empty"));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((r, d)) => {
                check_digest(d).map_err(|r| err(&r))?;
                (r, Some(d.to_string()))
            }
            None => (input, None),
        };
        // A tag is a ':' after the last '/'.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(c) => (&rest[..last_slash + c], Some(&rest[last_slash + c + 1..])),
            None => (rest, None),
        };
        if let Some(t) = tag {
            check_tag(t).map_err(|r| err(&r))?;
        }
        if name.is_empty() {
            return Err(err("the repository name is empty"));
        }
        if name.len() > MAX_NAME {
            return Err(err("the repository name is longer than 255 characters"));
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.')
                    || first.contains(':')
                    || first == "localhost"
                    || first.chars().any(|c| c.is_ascii_uppercase()) =>
            {
                check_domain(first).map_err(|r| err(&r))?;
                (first.to_string(), path.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
            _ => registry,
        };
        for component in path.split('/') {
            check_component(component).map_err(|r| err(&r))?;
        }
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_string()),
            (None, None) => Some("latest".to_string()),
            (None, Some(_)) => None,
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// What to ask the registry's manifest endpoint for: the digest when there is one (a
    /// digest wins over a tag, as in Docker), else the tag.
    pub fn manifest_reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The host the registry's API is served from (`docker.io` is `registry-1.docker.io`).
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }
    /// Is the registry on this machine (`localhost`, a loopback address)? Such registries are
    /// spoken to over plain HTTP, as Docker does.
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(self.api_host())
    }
}

/// `HOST[:PORT]` (IPv6 in brackets) names this machine.
pub fn is_loopback_host(host: &str) -> bool {
    let h = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

fn check_digest(d: &str) -> Result<(), String> {
    let Some((alg, hex)) = d.split_once(':') else {
        return Err(format!(
            "digest {d:?} is not ALGORITHM:HEX (e.g. sha256:<64 hex digits>)"
        ));
    };
    let alg_ok = !alg.is_empty()
        && alg.split(['+', '.', '_', '-']).all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if !alg_ok {
        return Err(format!("digest algorithm {alg:?} is malformed"));
    }
    let expected_len = match alg {
        "sha256" => Some(64),
        "sha512" => Some(128),
        _ => None,
    };
    let hex_ok = hex.len() >= 32
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && expected_len.is_none_or(|n| hex.len() == n);
    if !hex_ok {
        return Err(format!(
            "digest {d:?} is malformed ({alg} needs {} lowercase hex digits)",
            expected_len.map_or("at least 32".to_string(), |n| n.to_string())
        ));
    }
    Ok(())
}

fn check_tag(t: &str) -> Result<(), String> {
    let mut bytes = t.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !first_ok
        || t.len() > MAX_TAG
        || !t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    {
        return Err(format!(
            "tag {t:?} is malformed (up to 128 of [A-Za-z0-9_.-], not starting with '.' or '-')"
        ));
    }
    Ok(())
}

fn check_domain(d: &str) -> Result<(), String> {
    let bad = || format!("registry host {d:?} is malformed");
    let (host, port) = if let Some(rest) = d.strip_prefix('[') {
        // [IPv6]:port
        let (addr, after) = rest.split_once(']').ok_or_else(bad)?;
        if addr.is_empty()
            || !addr
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err(bad());
        }
        match after {
            "" => return Ok(()),
            p => (None, Some(p.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match d.rsplit_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(d), None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
    }
    if let Some(h) = host {
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if !h.split('.').all(label_ok) {
            return Err(bad());
        }
    }
    Ok(())
}

/// A path component: `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`.
fn check_component(c: &str) -> Result<(), String> {
    let bad = || {
        format!(
            "repository path component {c:?} is malformed (lowercase letters, digits, and '.', '_', '__' or '-' between them)"
        )
    };
    if c.is_empty() {
        return Err(bad());
    }
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return Err(bad());
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return Err(bad());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback_host("localhost:5000"));
        assert!(is_loopback_host("127.0.0.1:5000"));
        assert!(is_loopback_host("127.1.2.3"));
        assert!(is_loopback_host("[::1]:5000"));
        assert!(!is_loopback_host("registry.example.com:5000"));
        assert!(!is_loopback_host("10.0.0.1:5000"));
        let loopback = |r: &str| Reference::parse(r).unwrap().is_loopback();
        assert!(loopback("127.0.0.1:5000/app:1"));
        assert!(loopback("localhost:5000/app:1"));
        assert!(!loopback("localhost")); // Docker Hub's library/localhost
        assert!(!loopback("registry.example/app:1"));
        assert!(!loopback("127.0.0.1.example.com/app"));
    }

    fn p(s: &str) -> String {
        Reference::parse(s).unwrap().to_string()
    }

    #[test]
    fn parses_like_docker() {
        assert_eq!(p("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(p("nginx:1.27"), "docker.io/library/nginx:1.27");
        assert_eq!(p("org/app"), "docker.io/org/app:latest");
        assert_eq!(p("index.docker.io/nginx"), "docker.io/library/nginx:latest");
        assert_eq!(
            p("docker.io/library/nginx"),
            "docker.io/library/nginx:latest"
        );
        assert_eq!(p("ghcr.io/org/app:tag"), "ghcr.io/org/app:tag");
        assert_eq!(p("localhost/app"), "localhost/app:latest");
        assert_eq!(p("localhost:5000/a/b/c"), "localhost:5000/a/b/c:latest");
        assert_eq!(
            p(&format!("host:5000/ns/app@{D}")),
            format!("host:5000/ns/app@{D}")
        );
        assert_eq!(
            p(&format!("app:1@{D}")),
            format!("docker.io/library/app:1@{D}")
        );
        assert_eq!(p("[::1]:5000/app"), "[::1]:5000/app:latest");
        assert_eq!(
            p("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/repo:tag"),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/repo:tag"
        );
        assert_eq!(
            p("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/repo"),
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/repo:latest"
        );
        assert_eq!(
            p("public.ecr.aws/nginx/nginx:stable"),
            "public.ecr.aws/nginx/nginx:stable"
        );
        assert_eq!(p("ns/a__b.c-d---e_f"), "docker.io/ns/a__b.c-d---e_f:latest");
        let r = Reference::parse(&format!("h.io/x:t@{D}")).unwrap();
        assert_eq!(r.manifest_reference(), D);
        assert_eq!(
            Reference::parse("nginx").unwrap().api_host(),
            DOCKER_HUB_API
        );
    }

    #[test]
    fn refuses_malformed_references() {
        for bad in [
            "",
            "Nginx",
            "nginx:",
            "nginx:-x",
            "nginx@sha256:abc",
            "nginx@md5",
            "a//b",
            "-a/b",
            "a/b-",
            "a___b",
            "host:port/app",
            "ex ample.com/app",
            "app:tag:tag",
        ] {
            let e = Reference::parse(bad);
            assert!(e.is_err(), "{bad:?} parsed as {e:?}");
        }
        let e = Reference::parse("nginx@sha256:abc").unwrap_err();
        assert!(e.to_string().contains("64 lowercase hex"), "{e}");
    }
}
