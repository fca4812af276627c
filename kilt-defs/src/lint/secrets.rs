//! Telling credentials in plain `environment` values from harmless settings.
//!
//! Two checks of different confidence:
//! - [`value_kind`]: the value itself has the form of a real credential (AWS access key ID,
//!   PEM private key, well-known token prefixes). Few false positives.
//! - [`credential_name`] + [`plain_value`]: the name says credential (`DB_PASSWORD`,
//!   `API_KEY`, `GITHUB_TOKEN`) and the value is a literal that is not a reference to where the
//!   secret lives (an ARN, a CloudFormation dynamic reference, a file path) nor a placeholder.

/// Tokens that, as the last word of a variable name, say "this is a credential".
const SECRET_WORDS: &[&str] = &[
    "KEY",
    "APIKEY",
    "SECRET",
    "TOKEN",
    "PASSWORD",
    "PASSWD",
    "PWD",
    "PASS",
    "PASSPHRASE",
    "CREDENTIAL",
    "CREDENTIALS",
];

/// Words before a final `KEY` that make it a key of something else (a table, a cache, a
/// public key).
const NON_SECRET_KEY_KINDS: &[&str] = &[
    "PUBLIC",
    "PARTITION",
    "SORT",
    "HASH",
    "PRIMARY",
    "RANGE",
    "CACHE",
    "ROUTING",
    "OBJECT",
    "S3",
    "BUCKET",
    "IDEMPOTENCY",
    "KMS",
    "FOREIGN",
    "SHARD",
    "LOOKUP",
    "SEARCH",
    "MAP",
    "GROUP",
];

/// Whether an environment variable's name says it holds a credential.
pub fn credential_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let words: Vec<&str> = upper
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let Some((last, rest)) = words.split_last() else {
        return false;
    };
    // AWS_SECRET_ACCESS_KEY, AWS_ACCESS_KEY_ID (an identifier, but one half of a key pair).
    if upper.ends_with("ACCESS_KEY_ID") || upper.ends_with("SECRET_ACCESS_KEY") {
        return true;
    }
    if !SECRET_WORDS.contains(last) {
        // DBPASSWORD, APITOKEN: a compound last word.
        return ["PASSWORD", "PASSWD", "SECRET", "APIKEY", "TOKEN"]
            .iter()
            .any(|w| last.len() > w.len() && last.ends_with(w));
    }
    if *last == "KEY" {
        if let Some(prev) = rest.last() {
            if NON_SECRET_KEY_KINDS.contains(prev) {
                return false;
            }
        } else {
            // A variable named just KEY: too vague to call.
            return false;
        }
    }
    true
}

/// Whether a literal value is a real value rather than a pointer to where the secret lives or
/// a harmless placeholder.
pub fn plain_value(value: &str) -> bool {
    let v = value.trim();
    if v.len() < 4 {
        // "", "1", "true", "no": flags, not credentials.
        return false;
    }
    let lower = v.to_ascii_lowercase();
    if lower.starts_with("arn:")                  // an SSM / Secrets Manager / KMS ARN
        || lower.contains("{{resolve:")            // a CloudFormation dynamic reference
        || lower.starts_with("alias/")             // a KMS alias
        || lower.starts_with("ssm:")
        || lower.starts_with("secretsmanager:")
        || v.starts_with('/')                      // a file (or parameter) path
        || v.starts_with("file:")
        || (v.starts_with("${") && v.ends_with('}')) // a template placeholder
        || (v.starts_with("{{") && v.ends_with("}}"))
        || (v.starts_with('<') && v.ends_with('>'))
    {
        return false;
    }
    !matches!(
        lower.as_str(),
        "true" | "false" | "none" | "null" | "changeme" | "placeholder" | "redacted" | "secret"
    )
}

/// The kind of credential a value is, when it has the form of one.
pub fn value_kind(value: &str) -> Option<&'static str> {
    let v = value.trim();
    if aws_access_key_id(v) {
        return Some("an AWS access key ID");
    }
    if v.contains("-----BEGIN") && v.contains("PRIVATE KEY") {
        return Some("a PEM private key");
    }
    let prefixed = |prefix: &str, min: usize| {
        v.starts_with(prefix)
            && v.len() >= prefix.len() + min
            && v[prefix.len()..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]
        .iter()
        .any(|p| prefixed(p, 30))
        || prefixed("github_pat_", 30)
    {
        return Some("a GitHub token");
    }
    if ["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-"]
        .iter()
        .any(|p| prefixed(p, 20))
    {
        return Some("a Slack token");
    }
    if prefixed("sk_live_", 20) || prefixed("rk_live_", 20) {
        return Some("a Stripe live key");
    }
    None
}

/// `AKIA`/`ASIA` (and the other AWS key ID prefixes) followed by 16 upper-case letters or digits.
fn aws_access_key_id(v: &str) -> bool {
    v.len() == 20
        && [
            "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA",
        ]
        .iter()
        .any(|p| v.starts_with(p))
        && v[4..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for n in [
            "API_KEY",
            "STRIPE_SECRET",
            "GITHUB_TOKEN",
            "DB_PASSWORD",
            "PASSWORD",
            "SYSDIG_ACCESS_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID",
            "DBPASSWORD",
            "client-secret",
            "mysql_pwd",
        ] {
            assert!(credential_name(n), "{n}");
        }
        for n in [
            "KEY",
            "PUBLIC_KEY",
            "PARTITION_KEY",
            "CACHE_KEY",
            "KMS_KEY",
            "TOKEN_TTL",
            "SECRET_NAME",
            "SECRET_ARN",
            "PASSWORD_FILE",
            "KEY_PREFIX",
            "LOG_LEVEL",
            "TOKENIZER",
        ] {
            assert!(!credential_name(n), "{n}");
        }
    }

    #[test]
    fn values() {
        for v in [
            "arn:aws:ssm:eu-west-1:123456789012:parameter/db",
            "arn:aws:secretsmanager:eu-west-1:1:secret:x",
            "{{resolve:secretsmanager:db:SecretString:password}}",
            "/run/secrets/db",
            "",
            "1",
            "true",
            "${DB_PASSWORD}",
        ] {
            assert!(!plain_value(v), "{v}");
        }
        assert!(plain_value("hunter22"));
        assert_eq!(
            value_kind("AKIAIOSFODNN7EXAMPLE"),
            Some("an AWS access key ID")
        );
        assert_eq!(value_kind("AKIA-not-a-key"), None);
        assert_eq!(
            value_kind("-----BEGIN RSA PRIVATE KEY-----\nabc"),
            Some("a PEM private key")
        );
        assert_eq!(
            value_kind("ghp_0123456789abcdefghijklmnopqrstuvwxyz"),
            Some("a GitHub token")
        );
        assert_eq!(value_kind("registry.example.com/app:1"), None);
    }
}
