//! The sensitive-path list: read-only opens of these paths are reported in the
//! default profile.
/// Sensitive-path patterns: `*` matches within one path component; a pattern
/// ending in `/**` matches everything below that directory.
#[derive(Clone, Debug, Default)]
pub struct PathList {
    pats: Vec<Vec<u8>>,
}

pub const DEFAULT_SENSITIVE: &[&str] = &[
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/shadow-",
    "/etc/gshadow-",
    "/etc/sudoers",
    "/etc/sudoers.d/**",
    "/root/.ssh/**",
    "/home/*/.ssh/**",
    "/etc/ssh/*_key",
    "/proc/*/environ",
    "/proc/*/mem",
    "/run/secrets/**",
    "/var/run/secrets/**",
    "/root/.aws/**",
    "/home/*/.aws/**",
];

impl PathList {
    pub fn new(pats: &[String]) -> PathList {
        PathList {
            pats: pats.iter().map(|p| p.as_bytes().to_vec()).collect(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.pats.is_empty()
    }
    pub fn matches(&self, path: &[u8]) -> bool {
        self.pats.iter().any(|p| glob(p, path))
    }
}

fn glob(pat: &[u8], s: &[u8]) -> bool {
    if let Some(prefix) = pat.strip_suffix(b"/**") {
        // the directory itself or anything below it
        if glob(prefix, s) {
            return true;
        }
        let comps = prefix.split(|&b| b == b'/').count();
        let mut it = s.split(|&b| b == b'/');
        let head: Vec<&[u8]> = it.by_ref().take(comps).collect();
        return head.len() == comps && it.next().is_some() && glob(prefix, &head.join(&b'/'));
    }
    match (pat.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            // * matches any run of non-'/' bytes
            let mut i = 0;
            loop {
                if glob(&pat[1..], &s[i..]) {
                    return true;
                }
                if i >= s.len() || s[i] == b'/' {
                    return false;
                }
                i += 1;
            }
        }
        (Some(a), Some(b)) if a == b => glob(&pat[1..], &s[1..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_globs() {
        let l = PathList::new(
            &DEFAULT_SENSITIVE
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        );
        assert!(l.matches(b"/etc/shadow"));
        assert!(!l.matches(b"/etc/shadowx"));
        assert!(l.matches(b"/etc/sudoers.d/90-cloud"));
        assert!(l.matches(b"/home/alice/.ssh/id_rsa"));
        assert!(!l.matches(b"/home/alice/ssh/id_rsa"));
        assert!(l.matches(b"/proc/123/environ"));
        assert!(l.matches(b"/proc/self/environ"));
        assert!(!l.matches(b"/proc/1/2/environ"));
        assert!(!l.matches(b"/etc/passwd"));
    }
}
