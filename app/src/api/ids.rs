//! Ids on the wire: integers, also accepted as numeric strings ("42") since some clients send them so.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Id(pub i64);

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(i64),
            Text(String),
        }
        match Raw::deserialize(deserializer) {
            Ok(Raw::Number(n)) => Ok(Id(n)),
            Ok(Raw::Text(text)) => {
                text.trim().parse().map(Id).map_err(|_| serde::de::Error::custom("expected an integer id"))
            }
            Err(_) => Err(serde::de::Error::custom("expected an integer id")),
        }
    }
}

/// In the OpenAPI document: an integer, or a string of digits.
#[cfg(feature = "ssr")]
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

#[cfg(feature = "ssr")]
impl utoipa::ToSchema for Id {}

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
}
