//! Application settings (`/api/settings`): one JSON document in `_params`, loaded into the
//! App, merged on PATCH, validated, and returned without secrets.

use crate::error::{Error, Result};
use crate::fields::{EmailField, FieldError, FieldType, UrlField};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The `_params` row the settings live in.
pub const SETTINGS_KEY: &str = "settings";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    pub meta: Meta,
    pub smtp: Smtp,
    /// Where record files are kept: an S3-compatible bucket when enabled, else the
    /// local `storage` directory.
    pub s3: S3,
    pub batch: Batch,
    pub logs: Logs,
    pub trusted_proxy: TrustedProxy,
    pub rate_limits: RateLimits,
    pub password_hashing: PasswordHashing,
    pub mcp: Mcp,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            meta: Meta::default(),
            smtp: Smtp::default(),
            s3: S3::default(),
            batch: Batch {
                enabled: true,
                max_requests: 50,
                timeout: 3,
                max_body_size: 128 << 20,
            },
            logs: Logs {
                max_days: 7,
                min_level: 0,
                log_ip: true,
                log_auth_id: false,
            },
            trusted_proxy: TrustedProxy::default(),
            rate_limits: RateLimits::default(),
            password_hashing: PasswordHashing::default(),
            mcp: Mcp::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Meta {
    pub app_name: String,
    #[serde(rename = "appURL")]
    pub app_url: String,
    pub sender_name: String,
    pub sender_address: String,
    pub hide_controls: bool,
}

impl Default for Meta {
    fn default() -> Self {
        Meta {
            app_name: "App".into(),
            app_url: "http://127.0.0.1:8090".into(),
            sender_name: "Support".into(),
            sender_address: "support@example.com".into(),
            hide_controls: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Smtp {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    pub username: String,
    /// Never returned by the API.
    pub password: String,
    pub auth_method: String,
    pub tls: bool,
    pub local_name: String,
}

impl Default for Smtp {
    fn default() -> Self {
        Smtp {
            enabled: false,
            host: "smtp.example.com".into(),
            port: 587,
            username: String::new(),
            password: String::new(),
            auth_method: "PLAIN".into(),
            tls: false,
            local_name: String::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct S3 {
    pub enabled: bool,
    pub bucket: String,
    pub region: String,
    /// `https://...` (or `http://` for a server on a private network).
    pub endpoint: String,
    pub access_key: String,
    /// Never returned by the API.
    pub secret: String,
    /// Bucket in the path (`endpoint/bucket/key`) rather than in the host name.
    pub force_path_style: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Batch {
    pub enabled: bool,
    pub max_requests: u32,
    /// Seconds.
    pub timeout: u32,
    pub max_body_size: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Logs {
    pub max_days: u32,
    pub min_level: i32,
    #[serde(rename = "logIP")]
    pub log_ip: bool,
    pub log_auth_id: bool,
}

/// The MCP server at `/mcp` (see [`crate::mcp`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Mcp {
    /// The framework's own routes (collections, records, auth, settings, logs) as tools
    /// too, next to the app's: off by default, since an agent rarely needs them and a
    /// long tool list costs every model that reads it.
    pub core_tools: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TrustedProxy {
    /// Headers that carry the client's address (`X-Forwarded-For`, `X-Real-IP`, ...).
    pub headers: Vec<String>,
    #[serde(rename = "useLeftmostIP")]
    pub use_leftmost_ip: bool,
    /// The proxies' own addresses or CIDR ranges: the headers are read only from a peer
    /// in one of them (none = from nobody).
    pub ips: Vec<String>,
}

impl TrustedProxy {
    /// Whether `peer` is one of the configured proxies.
    pub fn trusts(&self, peer: std::net::IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.ips.iter().any(|x| match parse_ip_or_net(x) {
            Some(net) => net.contains(&peer),
            None => false,
        })
    }
}

/// `10.0.0.1`, `10.0.0.0/8`, `::1` or `fd00::/8`.
fn parse_ip_or_net(s: &str) -> Option<ipnet::IpNet> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RateLimits {
    pub enabled: bool,
    pub rules: Vec<RateLimitRule>,
    #[serde(rename = "excludedIPs")]
    pub excluded_ips: Vec<String>,
}

impl Default for RateLimits {
    fn default() -> Self {
        let rule = |label: &str, duration: u32, max_requests: u32| RateLimitRule {
            label: label.into(),
            audience: String::new(),
            duration,
            max_requests,
        };
        RateLimits {
            enabled: false,
            rules: vec![
                rule("*:auth", 3, 2),
                rule("*:create", 5, 20),
                rule("/api/batch", 1, 3),
                rule("/api/", 10, 300),
            ],
            excluded_ips: vec![],
        }
    }
}

/// Argon2id cost of new password hashes (existing hashes keep the cost they were made
/// with). The default is one of the five settings OWASP gives as equally strong: 7 MiB,
/// 5 passes, 1 lane (the same work as 19 MiB x 2 passes, at a third of the memory:
/// every hashing thread keeps that memory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PasswordHashing {
    #[serde(rename = "memoryKiB")]
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for PasswordHashing {
    fn default() -> Self {
        PasswordHashing {
            memory_kib: 7 * 1024,
            iterations: 5,
            parallelism: 1,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RateLimitRule {
    pub label: String,
    pub audience: String,
    /// Seconds.
    pub duration: u32,
    pub max_requests: u32,
}

impl Settings {
    /// The defaults of an app called `name` (`meta.appName`).
    pub(crate) fn named(name: &str) -> Settings {
        let mut s = Settings::default();
        s.meta.app_name = name.to_string();
        s
    }

    /// The JSON the API returns: everything but secrets.
    pub fn to_public_json(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or_else(|_| json!({}));
        if let Some(smtp) = v.get_mut("smtp").and_then(Value::as_object_mut) {
            smtp.remove("password");
        }
        if let Some(s3) = v.get_mut("s3").and_then(Value::as_object_mut) {
            s3.remove("secret");
        }
        v
    }

    /// Applies a partial update (same shape as the settings, any subset of keys).
    /// A secret sent empty keeps its stored value.
    pub fn merged(&self, patch: &Value) -> Result<Settings> {
        let mut current = serde_json::to_value(self).unwrap_or_else(|_| json!({}));
        merge(&mut current, patch);
        if patch
            .pointer("/smtp/password")
            .and_then(Value::as_str)
            .is_some_and(str::is_empty)
        {
            current["smtp"]["password"] = json!(self.smtp.password);
        }
        if patch
            .pointer("/s3/secret")
            .and_then(Value::as_str)
            .is_some_and(str::is_empty)
        {
            current["s3"]["secret"] = json!(self.s3.secret);
        }
        let next: Settings = serde_json::from_value(current)
            .map_err(|e| Error::BadRequest(format!("Invalid settings: {e}.")))?;
        next.validate()?;
        Ok(next)
    }

    fn validate(&self) -> Result<()> {
        let mut errors: Vec<(&str, &str, FieldError)> = Vec::new();
        if self.meta.app_name.trim().is_empty() {
            errors.push(("meta", "appName", FieldError::required()));
        }
        // Settings say `validation_is_url` where record fields say `validation_invalid_url`
        // (both as PocketBase does).
        let not_a_url = || FieldError::new("validation_is_url", "Must be a valid URL.");
        match UrlField::default().prepare(&json!(self.meta.app_url), true) {
            Err(e) if e.code == "validation_required" => errors.push(("meta", "appURL", e)),
            Err(_) => errors.push(("meta", "appURL", not_a_url())),
            Ok(_) => {}
        }
        if let Err(e) = EmailField::default().prepare(&json!(self.meta.sender_address), true) {
            errors.push(("meta", "senderAddress", e));
        }
        if self.smtp.enabled && self.smtp.host.trim().is_empty() {
            errors.push(("smtp", "host", FieldError::required()));
        }
        if self.smtp.enabled && self.smtp.port == 0 {
            errors.push(("smtp", "port", FieldError::required()));
        }
        if self.s3.enabled {
            for (key, value) in [
                ("bucket", &self.s3.bucket),
                ("region", &self.s3.region),
                ("endpoint", &self.s3.endpoint),
                ("accessKey", &self.s3.access_key),
                ("secret", &self.s3.secret),
            ] {
                if value.trim().is_empty() {
                    errors.push(("s3", key, FieldError::required()));
                }
            }
            let web = url::Url::parse(&self.s3.endpoint)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
            if !self.s3.endpoint.trim().is_empty() && !web {
                errors.push(("s3", "endpoint", not_a_url()));
            }
        }
        if self
            .trusted_proxy
            .ips
            .iter()
            .any(|x| parse_ip_or_net(x).is_none())
        {
            errors.push((
                "trustedProxy",
                "ips",
                FieldError::new(
                    "validation_invalid_ip",
                    "Each entry must be an IP address or a CIDR range (10.0.0.0/8).",
                ),
            ));
        }
        let h = &self.password_hashing;
        let range = |min: u32, max: u32| {
            FieldError::new(
                "validation_out_of_range",
                format!("Must be between {min} and {max}."),
            )
        };
        if !(1..=16).contains(&h.parallelism) {
            errors.push(("passwordHashing", "parallelism", range(1, 16)));
        }
        if !(1..=10).contains(&h.iterations) {
            errors.push(("passwordHashing", "iterations", range(1, 10)));
        }
        if !(8 * h.parallelism.max(1)..=1 << 20).contains(&h.memory_kib) {
            errors.push((
                "passwordHashing",
                "memoryKiB",
                range(8 * h.parallelism.max(1), 1 << 20),
            ));
        }
        if self
            .rate_limits
            .rules
            .iter()
            .any(|r| r.label.trim().is_empty() || r.duration == 0 || r.max_requests == 0)
        {
            let e = FieldError::new(
                "validation_invalid_rule",
                "Every rule needs a label, a duration and a request count above 0.",
            );
            errors.push(("rateLimits", "rules", e));
        }
        if errors.is_empty() {
            return Ok(());
        }
        let mut data = serde_json::Map::new();
        for (group, key, e) in errors {
            let g = data.entry(group.to_string()).or_insert_with(|| json!({}));
            g[key] = e.to_json();
        }
        Err(Error::Validation {
            message: "An error occurred while saving the new settings.".into(),
            fields: data,
        })
    }
}

/// Deep-merges `patch` into `base` (objects key by key, anything else replaced): how a
/// partial settings document is applied, for the framework's settings and an app's own.
pub fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, p) => *b = p.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_validate_and_hide_secrets() {
        let s = Settings::default();
        let s2 = s.merged(&json!({"meta": {"appName": "Acme"}, "smtp": {"enabled": true, "host": "mail.local", "password": "pw"}})).unwrap();
        assert_eq!(s2.meta.app_name, "Acme");
        assert_eq!(s2.meta.app_url, s.meta.app_url);
        assert_eq!(s2.smtp.password, "pw");
        assert!(s2.to_public_json()["smtp"].get("password").is_none());
        // An empty secret keeps the stored one.
        let s3 = s2.merged(&json!({"smtp": {"password": ""}})).unwrap();
        assert_eq!(s3.smtp.password, "pw");
        let err = s
            .merged(&json!({"meta": {"appName": "", "appURL": "nope"}}))
            .unwrap_err();
        let Error::Validation { fields, .. } = err else {
            panic!("not a validation error")
        };
        assert_eq!(fields["meta"]["appName"]["code"], "validation_required");
        assert_eq!(fields["meta"]["appURL"]["code"], "validation_is_url");
        assert!(s.merged(&json!({"smtp": {"port": "x"}})).is_err());
    }
}
