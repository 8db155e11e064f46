//! The app configuration clients read at `/api/config`: every section of nchat's AppConfig
//! (setup, owner, branding, landingTheme, homepage, authProviders, authPermissions, features,
//! integrations, moderation, encryption, theme, seo, legal, social, enterprise), its defaults,
//! its validation, and its versions in the database (each change a new row). Hearth stores and
//! serves these settings for clients; its own behaviour follows its process configuration.

use serde_json::{json, Map, Value};

use super::audit::{self, AuditEvent};
use super::sessions::Caller;
use super::store::{now_ms, rfc3339};
use super::{AppState, DomainError, DomainResult};

/// What a new server starts with (nchat's AppConfig shape, Hearth's own values).
pub fn defaults() -> Value {
    json!({
        "setup": { "isCompleted": false, "currentStep": 0, "visitedSteps": [] },
        // No owner e-mail until one is set: nchat's spec has it an address, never empty.
        "owner": { "name": "", "company": "", "role": "" },
        "branding": {
            "appName": "Hearth", "tagline": "", "logo": "", "favicon": "", "companyName": "", "websiteUrl": "",
            "logoScale": 1.0
        },
        "landingTheme": "simple-landing",
        "homepage": {
            "mode": "landing",
            "landingPages": {
                "hero": true, "features": true, "pricing": false, "about": false, "contact": false, "blog": false,
                "docs": false
            }
        },
        "authProviders": {
            "emailPassword": true, "magicLinks": false, "google": false, "facebook": false, "twitter": false,
            "github": false, "discord": false, "slack": false,
            "idme": {
                "enabled": false, "allowMilitary": true, "allowPolice": true, "allowFirstResponders": true,
                "allowGovernment": false, "requireVerification": true
            }
        },
        "authPermissions": {
            "mode": "allow-all", "requireEmailVerification": true, "allowedDomains": [], "allowedIdMeRoles": [],
            "requireApproval": false, "autoApprove": true, "welcomeNewMembers": true, "newMemberChannel": "general"
        },
        "features": {
            "publicChannels": true, "privateChannels": true, "directMessages": true, "fileUploads": true,
            "voiceMessages": false, "threads": false, "reactions": false, "search": true, "guestAccess": false,
            "inviteLinks": false, "channelCategories": false, "customEmojis": false, "gifs": true, "stickers": false,
            "messageScheduling": false, "videoConferencing": false, "endToEndEncryption": false,
            "voiceCalls": true, "videoCalls": false, "groupCalls": true, "screenSharing": false,
            "callRecording": false, "maxCallParticipants": 50,
            "liveStreaming": false, "streamRecording": false, "streamChat": false, "streamReactions": false,
            "streamScheduling": false, "maxStreamDuration": 0
        },
        "integrations": {
            "slack": { "enabled": false, "importChannels": false, "syncMessages": false },
            "github": { "enabled": false, "notifications": false, "linkPullRequests": false },
            "jira": { "enabled": false, "ticketNotifications": false },
            "googleDrive": { "enabled": false, "fileSharing": false },
            "webhooks": { "enabled": true, "customEndpoints": [] }
        },
        "moderation": {
            "autoModeration": false, "profanityFilter": false, "spamDetection": false,
            "requireMessageApproval": false, "moderatorRoles": ["admin", "moderator"], "reportingSystem": false,
            "aiModeration": {
                "enabled": false, "toxicityDetection": false, "nsfwDetection": false, "spamDetection": false,
                "profanityFilter": false
            },
            "thresholds": { "toxic": 0.7, "nsfw": 0.7, "spam": 0.6, "profanity": 0.5 },
            "autoActions": { "autoFlag": false, "autoHide": false, "autoWarn": false, "autoMute": false },
            "customWords": { "blocked": [], "allowed": [] }
        },
        "encryption": {
            "enabled": false, "enforceForPrivateChannels": false, "enforceForDirectMessages": false,
            "allowUnencryptedPublicChannels": true, "enableSafetyNumbers": false,
            "requireDeviceVerification": false, "automaticKeyRotation": false, "keyRotationDays": 7
        },
        "theme": {
            "preset": "default", "primaryColor": "#6366F1", "secondaryColor": "#4F46E5", "accentColor": "#818CF8",
            "backgroundColor": "#FFFFFF", "surfaceColor": "#F8FAFC", "textColor": "#0F172A",
            "mutedColor": "#64748B", "borderColor": "#E2E8F0", "buttonPrimaryBg": "#6366F1",
            "buttonPrimaryText": "#FFFFFF", "buttonSecondaryBg": "#E2E8F0", "buttonSecondaryText": "#0F172A",
            "successColor": "#10B981", "warningColor": "#F59E0B", "errorColor": "#EF4444", "infoColor": "#3B82F6",
            "borderRadius": "8px", "fontFamily": "system-ui, sans-serif", "colorScheme": "system"
        },
        "seo": { "title": "Hearth", "description": "A self-hosted chat server", "keywords": ["chat"] },
        "legal": { "supportEmail": "" },
        "social": {},
        "enterprise": {
            "sso": {
                "enabled": false, "allowedProviders": [], "enforceSSO": false, "jitProvisioning": false,
                "defaultRole": "member"
            },
            "rbac": {
                "customRolesEnabled": false, "maxCustomRoles": 0, "roleInheritance": true,
                "timeLimitedRoles": false, "roleTemplatesEnabled": false
            },
            "audit": {
                "enabled": true, "tamperProof": false, "retentionDays": 365, "exportFormats": ["json", "csv"],
                "autoVerifyIntegrity": false, "verificationSchedule": "daily"
            },
            "compliance": {
                "mode": "none", "requireMFA": false, "sessionTimeout": 1440,
                "passwordPolicy": {
                    "minLength": 8, "requireUppercase": true, "requireLowercase": true, "requireNumbers": true,
                    "requireSymbols": false, "expiryDays": 0
                }
            },
            "security": {
                "ipWhitelisting": false, "geoBlocking": false, "rateLimiting": true, "maxRequestsPerMinute": 60,
                "suspiciousActivityDetection": false
            }
        }
    })
}

/// The rule one field follows.
enum Rule {
    Bool,
    /// A whole number within inclusive bounds.
    Int(i64, i64),
    /// Any number within inclusive bounds.
    Number(f64, f64),
    /// Length in characters, inclusive.
    Text(usize, usize),
    /// An e-mail address.
    Email,
    /// An e-mail address, or empty.
    EmailOrEmpty,
    /// Empty, an `http(s)://` URL or a path on this site (`/privacy`).
    Link,
    OneOf(&'static [&'static str]),
    /// `#RRGGBB`.
    HexColor,
    /// At most `.0` whole numbers, each within `.1..=.2`.
    IntList(usize, i64, i64),
    /// At most `.0` texts of at most `.1` characters.
    TextList(usize, usize),
    /// Values from the list, no more than once each.
    OneOfList(&'static [&'static str]),
    /// An object with these fields (each optional in an update).
    Object(&'static [Field]),
}

type Field = (&'static str, Rule);

/// Logos and favicons may be data URLs (nchat's setup wizard stores uploaded images so); the
/// request body limit bounds them in practice.
const IMAGE_CHARS: usize = 64 * 1024;
/// Custom CSS and exported theme JSON.
const BLOB_CHARS: usize = 20_000;

const LANDING_THEMES: &[&str] = &["login-only", "simple-landing", "full-homepage", "corporate", "community"];

const AUTH_MODES: &[&str] = &["allow-all", "verified-only", "idme-roles", "domain-restricted", "admin-only"];

/// Every section and field nchat's AppConfig has.
const SECTIONS: &[Field] = &[
    (
        "setup",
        Rule::Object(&[
            ("isCompleted", Rule::Bool),
            ("currentStep", Rule::Int(0, 100)),
            ("visitedSteps", Rule::IntList(101, 0, 100)),
            ("completedAt", Rule::Text(0, 64)),
        ]),
    ),
    (
        "owner",
        Rule::Object(&[
            ("name", Rule::Text(0, 100)),
            ("email", Rule::Email),
            ("company", Rule::Text(0, 100)),
            ("role", Rule::Text(0, 100)),
        ]),
    ),
    (
        "branding",
        Rule::Object(&[
            ("appName", Rule::Text(1, 50)),
            ("tagline", Rule::Text(0, 200)),
            ("logo", Rule::Text(0, IMAGE_CHARS)),
            ("favicon", Rule::Text(0, IMAGE_CHARS)),
            ("companyName", Rule::Text(0, 100)),
            ("websiteUrl", Rule::Link),
            ("logoScale", Rule::Number(0.5, 2.0)),
        ]),
    ),
    ("landingTheme", Rule::OneOf(LANDING_THEMES)),
    (
        "homepage",
        Rule::Object(&[
            ("mode", Rule::OneOf(&["landing", "redirect", "chat"])),
            (
                "landingPages",
                Rule::Object(&[
                    ("hero", Rule::Bool),
                    ("features", Rule::Bool),
                    ("pricing", Rule::Bool),
                    ("about", Rule::Bool),
                    ("contact", Rule::Bool),
                    ("blog", Rule::Bool),
                    ("docs", Rule::Bool),
                ]),
            ),
            // nchat's type lists three; its "login-only" template uses the fourth.
            ("redirectTo", Rule::OneOf(&["/login", "/chat", "/signup", "/auth/signin"])),
        ]),
    ),
    (
        "authProviders",
        Rule::Object(&[
            ("emailPassword", Rule::Bool),
            ("magicLinks", Rule::Bool),
            ("google", Rule::Bool),
            ("facebook", Rule::Bool),
            ("twitter", Rule::Bool),
            ("github", Rule::Bool),
            ("discord", Rule::Bool),
            ("slack", Rule::Bool),
            (
                "idme",
                Rule::Object(&[
                    ("enabled", Rule::Bool),
                    ("allowMilitary", Rule::Bool),
                    ("allowPolice", Rule::Bool),
                    ("allowFirstResponders", Rule::Bool),
                    ("allowGovernment", Rule::Bool),
                    ("requireVerification", Rule::Bool),
                ]),
            ),
        ]),
    ),
    (
        "authPermissions",
        Rule::Object(&[
            ("mode", Rule::OneOf(AUTH_MODES)),
            ("requireEmailVerification", Rule::Bool),
            ("allowedDomains", Rule::TextList(100, 253)),
            ("allowedIdMeRoles", Rule::OneOfList(&["military", "police", "first-responder", "government"])),
            ("requireApproval", Rule::Bool),
            ("autoApprove", Rule::Bool),
            ("welcomeNewMembers", Rule::Bool),
            ("newMemberChannel", Rule::Text(0, 100)),
        ]),
    ),
    (
        "features",
        Rule::Object(&[
            ("publicChannels", Rule::Bool),
            ("privateChannels", Rule::Bool),
            ("directMessages", Rule::Bool),
            ("fileUploads", Rule::Bool),
            ("voiceMessages", Rule::Bool),
            ("threads", Rule::Bool),
            ("reactions", Rule::Bool),
            ("search", Rule::Bool),
            ("guestAccess", Rule::Bool),
            ("inviteLinks", Rule::Bool),
            ("channelCategories", Rule::Bool),
            ("customEmojis", Rule::Bool),
            ("gifs", Rule::Bool),
            ("stickers", Rule::Bool),
            ("messageScheduling", Rule::Bool),
            ("videoConferencing", Rule::Bool),
            ("endToEndEncryption", Rule::Bool),
            ("voiceCalls", Rule::Bool),
            ("videoCalls", Rule::Bool),
            ("groupCalls", Rule::Bool),
            ("screenSharing", Rule::Bool),
            ("callRecording", Rule::Bool),
            ("maxCallParticipants", Rule::Int(1, 10_000)),
            ("liveStreaming", Rule::Bool),
            ("streamRecording", Rule::Bool),
            ("streamChat", Rule::Bool),
            ("streamReactions", Rule::Bool),
            ("streamScheduling", Rule::Bool),
            // Minutes; 0: unlimited.
            ("maxStreamDuration", Rule::Int(0, 100_000)),
        ]),
    ),
    (
        "integrations",
        Rule::Object(&[
            (
                "slack",
                Rule::Object(&[("enabled", Rule::Bool), ("importChannels", Rule::Bool), ("syncMessages", Rule::Bool)]),
            ),
            (
                "github",
                Rule::Object(&[
                    ("enabled", Rule::Bool),
                    ("notifications", Rule::Bool),
                    ("linkPullRequests", Rule::Bool),
                ]),
            ),
            ("jira", Rule::Object(&[("enabled", Rule::Bool), ("ticketNotifications", Rule::Bool)])),
            ("googleDrive", Rule::Object(&[("enabled", Rule::Bool), ("fileSharing", Rule::Bool)])),
            ("webhooks", Rule::Object(&[("enabled", Rule::Bool), ("customEndpoints", Rule::TextList(50, 2048))])),
        ]),
    ),
    (
        "moderation",
        Rule::Object(&[
            ("autoModeration", Rule::Bool),
            ("profanityFilter", Rule::Bool),
            ("spamDetection", Rule::Bool),
            ("requireMessageApproval", Rule::Bool),
            ("moderatorRoles", Rule::TextList(20, 50)),
            ("reportingSystem", Rule::Bool),
            (
                "aiModeration",
                Rule::Object(&[
                    ("enabled", Rule::Bool),
                    ("toxicityDetection", Rule::Bool),
                    ("nsfwDetection", Rule::Bool),
                    ("spamDetection", Rule::Bool),
                    ("profanityFilter", Rule::Bool),
                ]),
            ),
            (
                "thresholds",
                Rule::Object(&[
                    ("toxic", Rule::Number(0.0, 1.0)),
                    ("nsfw", Rule::Number(0.0, 1.0)),
                    ("spam", Rule::Number(0.0, 1.0)),
                    ("profanity", Rule::Number(0.0, 1.0)),
                ]),
            ),
            (
                "autoActions",
                Rule::Object(&[
                    ("autoFlag", Rule::Bool),
                    ("autoHide", Rule::Bool),
                    ("autoWarn", Rule::Bool),
                    ("autoMute", Rule::Bool),
                ]),
            ),
            (
                "customWords",
                Rule::Object(&[("blocked", Rule::TextList(1000, 100)), ("allowed", Rule::TextList(1000, 100))]),
            ),
        ]),
    ),
    (
        "encryption",
        Rule::Object(&[
            ("enabled", Rule::Bool),
            ("enforceForPrivateChannels", Rule::Bool),
            ("enforceForDirectMessages", Rule::Bool),
            ("allowUnencryptedPublicChannels", Rule::Bool),
            ("enableSafetyNumbers", Rule::Bool),
            ("requireDeviceVerification", Rule::Bool),
            ("automaticKeyRotation", Rule::Bool),
            ("keyRotationDays", Rule::Int(1, 365)),
        ]),
    ),
    (
        "theme",
        Rule::Object(&[
            // nchat's theme step offers more presets than its type names: any short name.
            ("preset", Rule::Text(1, 50)),
            ("primaryColor", Rule::HexColor),
            ("secondaryColor", Rule::HexColor),
            ("accentColor", Rule::HexColor),
            ("backgroundColor", Rule::HexColor),
            ("surfaceColor", Rule::HexColor),
            ("textColor", Rule::HexColor),
            ("mutedColor", Rule::HexColor),
            ("borderColor", Rule::HexColor),
            ("buttonPrimaryBg", Rule::HexColor),
            ("buttonPrimaryText", Rule::HexColor),
            ("buttonSecondaryBg", Rule::HexColor),
            ("buttonSecondaryText", Rule::HexColor),
            ("successColor", Rule::HexColor),
            ("warningColor", Rule::HexColor),
            ("errorColor", Rule::HexColor),
            ("infoColor", Rule::HexColor),
            ("borderRadius", Rule::Text(0, 20)),
            ("fontFamily", Rule::Text(0, 200)),
            ("customCSS", Rule::Text(0, BLOB_CHARS)),
            ("colorScheme", Rule::OneOf(&["light", "dark", "system"])),
            ("customThemeJSON", Rule::Text(0, BLOB_CHARS)),
        ]),
    ),
    (
        "seo",
        Rule::Object(&[
            ("title", Rule::Text(0, 100)),
            ("description", Rule::Text(0, 300)),
            ("keywords", Rule::TextList(50, 50)),
            ("ogImage", Rule::Text(0, 2048)),
            ("twitterHandle", Rule::Text(0, 50)),
        ]),
    ),
    (
        "legal",
        Rule::Object(&[
            ("privacyPolicyUrl", Rule::Link),
            ("termsOfServiceUrl", Rule::Link),
            ("cookiePolicyUrl", Rule::Link),
            ("supportEmail", Rule::EmailOrEmpty),
        ]),
    ),
    (
        "social",
        Rule::Object(&[
            ("twitter", Rule::Text(0, 2048)),
            ("linkedin", Rule::Text(0, 2048)),
            ("github", Rule::Text(0, 2048)),
            ("discord", Rule::Text(0, 2048)),
            ("slack", Rule::Text(0, 2048)),
            ("website", Rule::Text(0, 2048)),
        ]),
    ),
    (
        "enterprise",
        Rule::Object(&[
            (
                "sso",
                Rule::Object(&[
                    ("enabled", Rule::Bool),
                    (
                        "allowedProviders",
                        Rule::OneOfList(&[
                            "okta",
                            "azure-ad",
                            "google-workspace",
                            "onelogin",
                            "auth0",
                            "ping-identity",
                            "jumpcloud",
                            "generic-saml",
                        ]),
                    ),
                    ("enforceSSO", Rule::Bool),
                    ("jitProvisioning", Rule::Bool),
                    ("defaultRole", Rule::OneOf(&["member", "moderator", "admin"])),
                ]),
            ),
            (
                "rbac",
                Rule::Object(&[
                    ("customRolesEnabled", Rule::Bool),
                    ("maxCustomRoles", Rule::Int(0, 1000)),
                    ("roleInheritance", Rule::Bool),
                    ("timeLimitedRoles", Rule::Bool),
                    ("roleTemplatesEnabled", Rule::Bool),
                ]),
            ),
            (
                "audit",
                Rule::Object(&[
                    ("enabled", Rule::Bool),
                    ("tamperProof", Rule::Bool),
                    ("retentionDays", Rule::Int(1, 36_500)),
                    ("exportFormats", Rule::OneOfList(&["json", "csv", "syslog", "cef", "leef"])),
                    ("autoVerifyIntegrity", Rule::Bool),
                    ("verificationSchedule", Rule::OneOf(&["hourly", "daily", "weekly"])),
                ]),
            ),
            (
                "compliance",
                Rule::Object(&[
                    ("mode", Rule::OneOf(&["none", "soc2", "gdpr", "hipaa", "pci-dss", "custom"])),
                    ("requireMFA", Rule::Bool),
                    // Minutes.
                    ("sessionTimeout", Rule::Int(1, 525_600)),
                    (
                        "passwordPolicy",
                        Rule::Object(&[
                            ("minLength", Rule::Int(8, 128)),
                            ("requireUppercase", Rule::Bool),
                            ("requireLowercase", Rule::Bool),
                            ("requireNumbers", Rule::Bool),
                            ("requireSymbols", Rule::Bool),
                            ("expiryDays", Rule::Int(0, 3650)),
                        ]),
                    ),
                ]),
            ),
            (
                "security",
                Rule::Object(&[
                    ("ipWhitelisting", Rule::Bool),
                    ("allowedIPs", Rule::TextList(1000, 64)),
                    ("geoBlocking", Rule::Bool),
                    ("blockedCountries", Rule::TextList(300, 64)),
                    ("rateLimiting", Rule::Bool),
                    ("maxRequestsPerMinute", Rule::Int(1, 1_000_000)),
                    ("suspiciousActivityDetection", Rule::Bool),
                ]),
            ),
        ]),
    ),
];

/// Keys nchat's setup wizard adds to the config it posts back (its own scratch state). nchat's
/// server accepts them and keeps none; so does Hearth.
const WIZARD_STATE: [&str; 3] = ["environmentSettings", "backendSettings", "deploymentSettings"];

/// "Validation failed: <field> <must…>" with `details:{field,constraint}`, as nchat's guide shows.
fn invalid(field: &str, must: &str, constraint: &str) -> DomainError {
    DomainError::InvalidConfig {
        field: field.into(),
        constraint: constraint.into(),
        message: format!("Validation failed: {field} {must}"),
    }
}

/// Checks every section and field the update names; unknown ones are refused, so typos do not
/// vanish silently.
pub fn validate(update: &Map<String, Value>) -> DomainResult<()> {
    for (name, value) in update {
        if WIZARD_STATE.contains(&name.as_str()) {
            if !value.is_object() {
                return Err(invalid(name, "must be an object", "type"));
            }
            continue;
        }
        let Some((_, rule)) = SECTIONS.iter().find(|(section, _)| section == name) else {
            return Err(invalid(name, "is not a configuration section", "unknown"));
        };
        check(name, rule, value)?;
    }
    Ok(())
}

fn check(path: &str, rule: &Rule, value: &Value) -> DomainResult<()> {
    match rule {
        Rule::Bool if !value.is_boolean() => Err(invalid(path, "must be true or false", "type")),
        Rule::Bool => Ok(()),
        Rule::Int(low, high) => match value.as_i64() {
            None => Err(invalid(path, "must be a whole number", "type")),
            Some(n) if n < *low || n > *high => {
                Err(invalid(path, &format!("must be between {low} and {high}"), "range"))
            }
            Some(_) => Ok(()),
        },
        Rule::Number(low, high) => match value.as_f64() {
            None => Err(invalid(path, "must be a number", "type")),
            Some(n) if n < *low || n > *high => {
                Err(invalid(path, &format!("must be between {low:?} and {high:?}"), "range"))
            }
            Some(_) => Ok(()),
        },
        Rule::Text(low, high) => match value.as_str() {
            None => Err(invalid(path, "must be a string", "type")),
            Some(text) if !(*low..=*high).contains(&text.chars().count()) => {
                let must = if *low == 0 {
                    format!("must be at most {high} characters")
                } else {
                    format!("must be {low}-{high} characters")
                };
                Err(invalid(path, &must, "length"))
            }
            Some(_) => Ok(()),
        },
        Rule::Email | Rule::EmailOrEmpty => match value.as_str() {
            None => Err(invalid(path, "must be a string", "type")),
            Some(text) if is_email(text) || (text.is_empty() && matches!(rule, Rule::EmailOrEmpty)) => Ok(()),
            Some(_) => Err(invalid(path, "must be a valid email address", "format")),
        },
        Rule::Link => match value.as_str() {
            None => Err(invalid(path, "must be a string", "type")),
            Some(text) if text.is_empty() || is_link(text) => Ok(()),
            Some(_) => Err(invalid(path, "must be an http(s) URL or a path starting with /", "format")),
        },
        Rule::OneOf(choices) => match value.as_str() {
            Some(choice) if choices.contains(&choice) => Ok(()),
            _ => Err(invalid(path, &format!("must be one of: {}", choices.join(", ")), "enum")),
        },
        Rule::HexColor => match value.as_str() {
            None => Err(invalid(path, "must be a string", "type")),
            Some(c) if c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit()) => Ok(()),
            Some(_) => Err(invalid(path, "must be a valid hex color (e.g., #FF0000)", "pattern")),
        },
        Rule::IntList(max, low, high) => {
            let items = list(path, value, *max)?;
            if items.iter().all(|i| i.as_i64().is_some_and(|n| (*low..=*high).contains(&n))) {
                Ok(())
            } else {
                Err(invalid(path, &format!("must hold whole numbers between {low} and {high}"), "type"))
            }
        }
        Rule::TextList(max, chars) => {
            let items = list(path, value, *max)?;
            if items.iter().all(|i| i.as_str().is_some_and(|t| t.chars().count() <= *chars)) {
                Ok(())
            } else {
                Err(invalid(path, &format!("must hold strings of at most {chars} characters"), "type"))
            }
        }
        Rule::OneOfList(choices) => {
            let items = list(path, value, choices.len())?;
            let mut seen = Vec::new();
            for item in items {
                match item.as_str() {
                    Some(choice) if choices.contains(&choice) && !seen.contains(&choice) => seen.push(choice),
                    _ => {
                        let must = format!("must hold each of {} at most once", choices.join(", "));
                        return Err(invalid(path, &must, "enum"));
                    }
                }
            }
            Ok(())
        }
        Rule::Object(fields) => {
            let Value::Object(values) = value else {
                return Err(invalid(path, "must be an object", "type"));
            };
            for (name, value) in values {
                let field_path = format!("{path}.{name}");
                let Some((_, rule)) = fields.iter().find(|(field, _)| field == name) else {
                    return Err(invalid(&field_path, "is not a configuration field", "unknown"));
                };
                check(&field_path, rule, value)?;
            }
            Ok(())
        }
    }
}

fn list<'a>(path: &str, value: &'a Value, max: usize) -> DomainResult<&'a Vec<Value>> {
    match value.as_array() {
        None => Err(invalid(path, "must be an array", "type")),
        Some(items) if items.len() > max => Err(invalid(path, &format!("must have at most {max} items"), "length")),
        Some(items) => Ok(items),
    }
}

/// nchat's check: something@something.something, no spaces.
fn is_email(text: &str) -> bool {
    text.chars().count() <= 254
        && !text.chars().any(char::is_whitespace)
        && text.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.split_once('.').is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
        })
}

fn is_link(text: &str) -> bool {
    let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"));
    let shaped = match rest {
        Some(host_and_path) => !host_and_path.is_empty(),
        None => text.starts_with('/') && !text.starts_with("//"),
    };
    shaped && text.chars().count() <= 2048 && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// `patch` laid over `base`: objects merge key by key, anything else replaces (nchat's deepMerge).
pub fn deep_merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                deep_merge(base.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (base, patch) => *base = patch.clone(),
    }
}

/// The configuration now and its version number (0: never changed, the defaults).
pub struct CurrentConfig {
    pub config: Value,
    pub version: i64,
}

pub async fn current(state: &AppState) -> DomainResult<CurrentConfig> {
    let row: Option<StoredVersion> =
        sqlx::query_as("SELECT id, config FROM app_config_versions ORDER BY id DESC LIMIT 1")
            .fetch_optional(state.store.pool())
            .await?;
    let Some(row) = row else {
        return Ok(CurrentConfig { config: defaults(), version: 0 });
    };
    let stored: Value =
        serde_json::from_str(&row.config).map_err(|e| DomainError::Internal(format!("stored config: {e}")))?;
    // Fields added after this version was stored show their defaults.
    let mut config = defaults();
    deep_merge(&mut config, &stored);
    Ok(CurrentConfig { config, version: row.version })
}

/// The newest stored version: its number and the whole configuration (JSON text).
#[derive(sqlx::FromRow)]
struct StoredVersion {
    #[sqlx(rename = "id")]
    version: i64,
    config: String,
}

/// How a change arrived: both deep-merge (nchat's POST and PATCH alike); POST also records
/// `setup.currentStep` among `setup.visitedSteps`, as nchat's setup wizard expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Post,
    Patch,
}

/// Merges `update` into the configuration. Admins only; every change is a new version and an
/// audit entry.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    mut update: Map<String, Value>,
    how: Change,
) -> DomainResult<CurrentConfig> {
    audit::require_admin(caller)?;
    validate(&update)?;
    update.retain(|name, _| !WIZARD_STATE.contains(&name.as_str()));
    let update = Value::Object(update);
    let mut config = current(state).await?.config;
    deep_merge(&mut config, &update);
    if how == Change::Post {
        visit_current_step(&mut config, &update);
    }
    let version: i64 = sqlx::query_scalar(
        "INSERT INTO app_config_versions (config, changes, updated_by, updated_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(config.to_string())
    .bind(update.to_string())
    .bind(caller.user_id)
    .bind(now_ms())
    .fetch_one(state.store.pool())
    .await?;
    audit::record(
        state,
        AuditEvent::new("config", "config.updated", format!("Configuration updated (version {version})."))
            .by_caller(caller)
            .with(json!({ "version": version, "changes": update })),
    )
    .await;
    Ok(CurrentConfig { config, version })
}

fn visit_current_step(config: &mut Value, update: &Value) {
    let Some(step) = update.pointer("/setup/currentStep").cloned() else { return };
    if let Some(visited) = config.pointer_mut("/setup/visitedSteps").and_then(Value::as_array_mut) {
        if !visited.contains(&step) {
            visited.push(step);
        }
    }
}

/// One change: its version, what it changed (JSON text), who made it (None when no account
/// matches) and when.
#[derive(sqlx::FromRow)]
struct HistoryRow {
    #[sqlx(rename = "id")]
    version: i64,
    changes: String,
    username: Option<String>,
    email: Option<String>,
    updated_at: i64,
}

/// The latest changes, newest first: `{version,timestamp,updatedBy,changes}`. Admins only.
pub async fn history(state: &AppState, caller: &Caller, limit: i64) -> DomainResult<Vec<Value>> {
    audit::require_admin(caller)?;
    let rows: Vec<HistoryRow> = sqlx::query_as(&format!(
        "SELECT v.id, v.changes, u.username, u.email, v.updated_at FROM app_config_versions v \
         LEFT JOIN users u ON u.id = v.updated_by ORDER BY v.id DESC LIMIT {limit}"
    ))
    .fetch_all(state.store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let mut entry = json!({
                "version": row.version.to_string(),
                "timestamp": rfc3339(row.updated_at),
                "updatedByUsername": row.username,
                "changes": serde_json::from_str::<Value>(&row.changes).unwrap_or(Value::Null),
            });
            // nchat's spec has `updatedBy` an address: left out for an account that has none (deleted).
            if let Some(email) = row.email.filter(|e| !e.is_empty()) {
                entry["updatedBy"] = json!(email);
            }
            entry
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(update: Value) -> (String, String, String) {
        match validate(update.as_object().expect("an object")) {
            Err(DomainError::InvalidConfig { field, constraint, message }) => (field, constraint, message),
            other => panic!("{update} was not refused: {other:?}"),
        }
    }

    #[test]
    fn validation_names_the_field_and_constraint_in_nchats_words() {
        let (field, constraint, message) = refused(json!({"branding": {"appName": ""}}));
        assert_eq!((field.as_str(), constraint.as_str()), ("branding.appName", "length"));
        assert_eq!(message, "Validation failed: branding.appName must be 1-50 characters");
        let (_, _, message) = refused(json!({"branding": {"logoScale": 3}}));
        assert_eq!(message, "Validation failed: branding.logoScale must be between 0.5 and 2.0");
        let (_, _, message) = refused(json!({"theme": {"accentColor": "red"}}));
        assert_eq!(message, "Validation failed: theme.accentColor must be a valid hex color (e.g., #FF0000)");
        let (field, constraint, _) =
            refused(json!({"enterprise": {"compliance": {"passwordPolicy": {"minLength": 4}}}}));
        assert_eq!((field.as_str(), constraint.as_str()), ("enterprise.compliance.passwordPolicy.minLength", "range"));
        let (field, constraint, _) = refused(json!({"landingTheme": "retro"}));
        assert_eq!((field.as_str(), constraint.as_str()), ("landingTheme", "enum"));
        let (field, constraint, _) = refused(json!({"authPermissions": {"allowedIdMeRoles": ["police", "police"]}}));
        assert_eq!((field.as_str(), constraint.as_str()), ("authPermissions.allowedIdMeRoles", "enum"));
        refused(json!({"nope": {}}));
        refused(json!({"features": {"threads": "yes"}}));
        refused(json!({"legal": {"privacyPolicyUrl": "javascript:alert(1)"}}));
        refused(json!({"environmentSettings": "x"}));
        assert!(validate(json!({"theme": {"primaryColor": "#12abEF"}}).as_object().unwrap()).is_ok());
    }

    #[test]
    fn the_defaults_are_valid_and_cover_every_section() {
        let defaults = defaults();
        validate(defaults.as_object().expect("an object")).expect("the defaults pass their own rules");
        let names: Vec<&str> = SECTIONS.iter().map(|(name, _)| *name).collect();
        let keys: Vec<&str> = defaults.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(names.len(), 16);
        for name in names {
            assert!(keys.contains(&name), "no default for {name}");
        }
    }

    #[test]
    fn merge_keeps_what_the_patch_does_not_name() {
        let mut config = defaults();
        deep_merge(&mut config, &json!({"branding": {"appName": "Den"}}));
        assert_eq!(config["branding"]["appName"], "Den");
        assert_eq!(config["branding"]["logoScale"], 1.0);
        assert_eq!(config["theme"]["colorScheme"], "system");
    }

    #[test]
    fn a_posted_step_is_visited_once() {
        let mut config = defaults();
        let update = json!({"setup": {"currentStep": 3}});
        deep_merge(&mut config, &update);
        visit_current_step(&mut config, &update);
        visit_current_step(&mut config, &update);
        assert_eq!(config["setup"]["visitedSteps"], json!([3]));
    }
}
