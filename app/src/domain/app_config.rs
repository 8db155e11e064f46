//! The app configuration clients read at `/api/config` (branding, theme, features, …): its
//! defaults, its validation, and its versions in the database (each change a new row).

use serde_json::{json, Map, Value};

use super::audit::{self, AuditEvent};
use super::sessions::Caller;
use super::store::{now_ms, rfc3339};
use super::{AppState, DomainError, DomainResult};

/// What a new server starts with (nchat's AppConfig shape).
pub fn defaults() -> Value {
    json!({
        "setup": { "isCompleted": false, "currentStep": 0, "visitedSteps": [] },
        "owner": { "name": "", "email": "", "company": "", "role": "" },
        "branding": { "appName": "Hearth", "tagline": "", "logo": "", "favicon": "", "logoScale": 1.0 },
        "theme": { "preset": "default", "colorScheme": "system", "primaryColor": "#6366F1" },
        "features": {
            "publicChannels": true,
            "privateChannels": true,
            "directMessages": true,
            "fileUploads": true,
            "threads": false
        }
    })
}

/// The rule one field follows.
enum Rule {
    Bool,
    /// Inclusive bounds.
    Int(i64, i64),
    IntList,
    Number(f64, f64),
    /// Length in characters, inclusive.
    Text(usize, usize),
    Email,
    OneOf(&'static [&'static str]),
    HexColor,
}

const FIELDS: &[(&str, &[(&str, Rule)])] = &[
    ("setup", &[("isCompleted", Rule::Bool), ("currentStep", Rule::Int(0, 100)), ("visitedSteps", Rule::IntList)]),
    (
        "owner",
        &[
            ("name", Rule::Text(0, 100)),
            ("email", Rule::Email),
            ("company", Rule::Text(0, 100)),
            ("role", Rule::Text(0, 50)),
        ],
    ),
    (
        "branding",
        &[
            ("appName", Rule::Text(1, 50)),
            ("tagline", Rule::Text(0, 200)),
            ("logo", Rule::Text(0, 2048)),
            ("favicon", Rule::Text(0, 2048)),
            ("logoScale", Rule::Number(0.5, 2.0)),
        ],
    ),
    (
        "theme",
        &[
            ("preset", Rule::Text(1, 50)),
            ("colorScheme", Rule::OneOf(&["light", "dark", "system"])),
            ("primaryColor", Rule::HexColor),
        ],
    ),
    (
        "features",
        &[
            ("publicChannels", Rule::Bool),
            ("privateChannels", Rule::Bool),
            ("directMessages", Rule::Bool),
            ("fileUploads", Rule::Bool),
            ("threads", Rule::Bool),
        ],
    ),
];

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
    for (section, value) in update {
        let Some((_, fields)) = FIELDS.iter().find(|(name, _)| name == section) else {
            return Err(invalid(section, "is not a configuration section", "unknown"));
        };
        let Value::Object(values) = value else {
            return Err(invalid(section, "must be an object", "type"));
        };
        for (name, value) in values {
            let path = format!("{section}.{name}");
            let Some((_, rule)) = fields.iter().find(|(field, _)| field == name) else {
                return Err(invalid(&path, "is not a configuration field", "unknown"));
            };
            check(&path, rule, value)?;
        }
    }
    Ok(())
}

fn check(path: &str, rule: &Rule, value: &Value) -> DomainResult<()> {
    match rule {
        Rule::Bool if !value.is_boolean() => Err(invalid(path, "must be true or false", "type")),
        Rule::Int(low, high) => match value.as_i64() {
            None => Err(invalid(path, "must be a whole number", "type")),
            Some(n) if n < *low || n > *high => Err(invalid(path, &format!("must be {low}-{high}"), "range")),
            Some(_) => Ok(()),
        },
        Rule::IntList => match value.as_array() {
            Some(items)
                if items.len() <= 100 && items.iter().all(|i| i.as_i64().is_some_and(|n| (0..=100).contains(&n))) =>
            {
                Ok(())
            }
            _ => Err(invalid(path, "must be a list of at most 100 whole numbers 0-100", "type")),
        },
        Rule::Number(low, high) => match value.as_f64() {
            None => Err(invalid(path, "must be a number", "type")),
            Some(n) if n < *low || n > *high => Err(invalid(path, &format!("must be {low}-{high}"), "range")),
            Some(_) => Ok(()),
        },
        Rule::Text(low, high) => match value.as_str() {
            None => Err(invalid(path, "must be text", "type")),
            Some(text) if !(*low..=*high).contains(&text.chars().count()) => {
                Err(invalid(path, &format!("must be {low}-{high} characters"), "length"))
            }
            Some(_) => Ok(()),
        },
        Rule::Email => match value.as_str() {
            None => Err(invalid(path, "must be text", "type")),
            Some("") => Ok(()),
            Some(text)
                if text.len() <= 254 && text.split_once('@').is_some_and(|(a, b)| !a.is_empty() && b.contains('.')) =>
            {
                Ok(())
            }
            Some(_) => Err(invalid(path, "must be an email address", "format")),
        },
        Rule::OneOf(choices) => match value.as_str() {
            Some(choice) if choices.contains(&choice) => Ok(()),
            _ => Err(invalid(path, &format!("must be one of {}", choices.join(", ")), "enum")),
        },
        Rule::HexColor => match value.as_str() {
            Some(c) if c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit()) => Ok(()),
            _ => Err(invalid(path, "must be a colour like #1A2B3C", "pattern")),
        },
        _ => Ok(()),
    }
}

/// `patch` laid over `base`: objects merge key by key, anything else replaces.
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
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT id, config FROM app_config_versions ORDER BY id DESC LIMIT 1")
            .fetch_optional(state.store.pool())
            .await?;
    let Some((version, text)) = row else {
        return Ok(CurrentConfig { config: defaults(), version: 0 });
    };
    let stored: Value =
        serde_json::from_str(&text).map_err(|e| DomainError::Internal(format!("stored config: {e}")))?;
    // Fields added after this version was stored show their defaults.
    let mut config = defaults();
    deep_merge(&mut config, &stored);
    Ok(CurrentConfig { config, version })
}

/// Replaces the configuration (`merge` false: missing fields take their defaults) or merges
/// into it (`merge` true). Admins only; every change is a new version and an audit entry.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    update: Map<String, Value>,
    merge: bool,
) -> DomainResult<CurrentConfig> {
    audit::require_admin(caller)?;
    validate(&update)?;
    let update = Value::Object(update);
    let mut config = if merge { current(state).await?.config } else { defaults() };
    deep_merge(&mut config, &update);
    let (version,): (i64,) = sqlx::query_as(
        "INSERT INTO app_config_versions (config, changes, updated_by, updated_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(config.to_string())
    .bind(update.to_string())
    .bind(caller.user_id)
    .bind(now_ms())
    .fetch_one(state.store.pool())
    .await?;
    let how = if merge { "patched" } else { "replaced" };
    audit::record(
        state,
        AuditEvent::new("config", "config.updated", format!("Configuration {how} (version {version})."))
            .by_caller(caller)
            .with(json!({ "version": version, "changes": update })),
    )
    .await;
    Ok(CurrentConfig { config, version })
}

/// version, changes (JSON), who (username, email), when.
type HistoryRow = (i64, String, Option<String>, Option<String>, i64);

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
        .map(|(version, changes, username, email, at)| {
            json!({
                "version": version.to_string(),
                "timestamp": rfc3339(at),
                "updatedBy": email,
                "updatedByUsername": username,
                "changes": serde_json::from_str::<Value>(&changes).unwrap_or(Value::Null),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_field_and_constraint() {
        let update = json!({"branding": {"appName": ""}});
        match validate(update.as_object().unwrap()) {
            Err(DomainError::InvalidConfig { field, constraint, message }) => {
                assert_eq!(field, "branding.appName");
                assert_eq!(constraint, "length");
                assert_eq!(message, "Validation failed: branding.appName must be 1-50 characters");
            }
            other => panic!("{other:?}"),
        }
        assert!(validate(json!({"theme": {"primaryColor": "#12abEF"}}).as_object().unwrap()).is_ok());
        assert!(validate(json!({"theme": {"primaryColor": "red"}}).as_object().unwrap()).is_err());
        assert!(validate(json!({"nope": {}}).as_object().unwrap()).is_err());
        assert!(validate(json!({"features": {"threads": "yes"}}).as_object().unwrap()).is_err());
    }

    #[test]
    fn merge_keeps_what_the_patch_does_not_name() {
        let mut config = defaults();
        deep_merge(&mut config, &json!({"branding": {"appName": "Den"}}));
        assert_eq!(config["branding"]["appName"], "Den");
        assert_eq!(config["branding"]["logoScale"], 1.0);
        assert_eq!(config["theme"]["colorScheme"], "system");
    }
}
