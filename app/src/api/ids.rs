//! Ids on the wire: integers, also accepted as numeric strings ("42") since some clients send them so.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Id(pub i64);

/// What an id may arrive as, before `Id` or `LooseId` decides what it means.
#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrText {
    Number(i64),
    Text(String),
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match NumberOrText::deserialize(deserializer) {
            Ok(NumberOrText::Number(n)) => Ok(Id(n)),
            Ok(NumberOrText::Text(text)) => {
                text.trim().parse().map(Id).map_err(|_| serde::de::Error::custom("expected an integer id"))
            }
            Err(_) => Err(serde::de::Error::custom("expected an integer id")),
        }
    }
}

/// In the OpenAPI document: an integer, or a string of digits. Both builds: request structs derive
/// their schema on the browser side too.
impl utoipa::PartialSchema for Id {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Int64))),
            )
            .item(ObjectBuilder::new().schema_type(Type::String).pattern(Some(r"^\s*-?[0-9]+\s*$")))
            .into()
    }
}

impl utoipa::ToSchema for Id {}

/// An id as nchat's clients send it: any string (`"channel-1"`) or number. Digits name a Hearth
/// row; anything else names nothing (it matches no row, it is not a malformed request).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize)]
pub struct LooseId(pub String);

impl LooseId {
    /// The Hearth row it names, if any.
    pub fn row(&self) -> Option<i64> {
        self.0.trim().parse().ok()
    }
}

impl<'de> Deserialize<'de> for LooseId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match NumberOrText::deserialize(deserializer) {
            Ok(NumberOrText::Number(n)) => Ok(LooseId(n.to_string())),
            Ok(NumberOrText::Text(text)) => Ok(LooseId(text)),
            Err(_) => Err(serde::de::Error::custom("expected an id (a string or a number)")),
        }
    }
}

impl utoipa::PartialSchema for LooseId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::String))
            .item(ObjectBuilder::new().schema_type(Type::Integer))
            .into()
    }
}

impl utoipa::ToSchema for LooseId {}

impl From<Id> for i64 {
    fn from(id: Id) -> i64 {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::Id;

    #[test]
    fn ids_accept_numbers_and_numeric_strings_only() {
        assert_eq!(serde_json::from_str::<Id>("7").unwrap(), Id(7));
        assert_eq!(serde_json::from_str::<Id>("\"7\"").unwrap(), Id(7));
        assert!(serde_json::from_str::<Id>("\"seven\"").is_err());
        assert!(serde_json::from_str::<Id>("7.5").is_err());
        assert!(serde_json::from_str::<Id>("null").is_err());
    }

    #[test]
    fn loose_ids_take_any_string_and_name_nothing_unless_digits() {
        use super::LooseId;
        let row = |json: &str| serde_json::from_str::<LooseId>(json).map(|id| id.row());
        assert_eq!(row("7").unwrap(), Some(7));
        assert_eq!(row("\" 7\"").unwrap(), Some(7));
        assert_eq!(row("\"channel-1\"").unwrap(), None);
        assert!(serde_json::from_str::<LooseId>("true").is_err());
        assert!(serde_json::from_str::<LooseId>("{}").is_err());
    }
}
