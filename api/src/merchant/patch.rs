//! Fields of PATCH bodies with JSON merge-patch meaning (RFC 7396): a field left out keeps its
//! value, `null` clears it, anything else replaces it. `Option<T>` cannot tell the first two
//! apart, hence this type.

use serde::{Deserialize, Deserializer};

use crate::error::ApiError;

/// One field of a PATCH body. Declare it with `#[serde(default)]` so a missing field is
/// [`Patch::Absent`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(deserializer).map(|value| value.map_or(Patch::Null, Patch::Value))
    }
}

impl<T> Patch<T> {
    /// The value after the patch, for a field that may be cleared.
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Self::Absent => current,
            Self::Null => None,
            Self::Value(value) => Some(value),
        }
    }

    /// The new value, if any, for a field that cannot be cleared: `null` is a 422 naming it.
    pub fn non_null(self, field: &str) -> Result<Option<T>, ApiError> {
        match self {
            Self::Absent => Ok(None),
            Self::Null => Err(ApiError::InvalidField { field: field.into(), detail: "cannot be null".into() }),
            Self::Value(value) => Ok(Some(value)),
        }
    }

    pub fn is_absent(&self) -> bool {
        matches!(self, Self::Absent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        brand: Patch<String>,
    }

    #[test]
    fn absent_null_and_values_are_told_apart() {
        let parse = |json: &str| serde_json::from_str::<Body>(json).map(|body| body.brand).ok();
        assert_eq!(parse("{}"), Some(Patch::Absent));
        assert_eq!(parse(r#"{"brand": null}"#), Some(Patch::Null));
        assert_eq!(parse(r#"{"brand": "Glow"}"#), Some(Patch::Value("Glow".to_owned())));
        assert_eq!(Patch::Absent.apply(Some(1)), Some(1));
        assert_eq!(Patch::<i32>::Null.apply(Some(1)), None);
        assert!(Patch::<i32>::Null.non_null("title").is_err());
    }
}
