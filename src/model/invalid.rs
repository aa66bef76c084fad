//! The one deserialisation error every model type raises for a bad value, so the config
//! parser can point at the exact line and column of any field, wherever its type is defined.

/// A value error that serde-saphyr locates (a plain `custom` error carries no position).
/// The config layer strips serde's "invalid value: string .., expected" wrapper again.
pub fn invalid_value<E: serde::de::Error>(text: &str, message: &str) -> E {
    E::invalid_value(serde::de::Unexpected::Str(text), &message)
}
