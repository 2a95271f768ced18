//! Field-by-field checks of a JSON body, so a client learns every problem at once.

use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Where the problem is, as a path into the body (`items[2].quantity`).
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn push(&mut self, field: impl Into<String>, code: &'static str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            code,
            message: message.into(),
        });
    }

    pub fn into_result<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }

    /// The object at `path`, noting a problem when the value is something else.
    pub fn object<'a>(&mut self, value: &'a Value, path: &str) -> Option<&'a Map<String, Value>> {
        let object = value.as_object();
        if object.is_none() {
            self.push(path, "WRONG_TYPE", "must be a JSON object");
        }
        object
    }

    /// Notes every key the schema does not know: a misspelt field must not be silently ignored.
    pub fn unknown_fields(&mut self, object: &Map<String, Value>, known: &[&str], prefix: &str) {
        for key in object.keys().filter(|key| !known.contains(&key.as_str())) {
            self.push(join(prefix, key), "UNKNOWN_FIELD", "is not a field of this request");
        }
    }

    pub fn string<'a>(&mut self, object: &'a Map<String, Value>, key: &str, prefix: &str) -> Option<&'a str> {
        match object.get(key) {
            None | Some(Value::Null) => {
                self.push(join(prefix, key), "MISSING_FIELD", "is required");
                None
            }
            Some(Value::String(text)) => Some(text),
            Some(_) => {
                self.push(join(prefix, key), "WRONG_TYPE", "must be a string");
                None
            }
        }
    }

    /// Text of 1 to `max_chars` printable characters, trimmed; anything else is `code`.
    pub fn printable(&mut self, object: &Map<String, Value>, key: &str, max_chars: usize, code: &'static str) -> Option<String> {
        self.printable_at(object, key, "", max_chars, code)
    }

    /// `printable`, for a field of a nested object at `prefix`.
    pub fn printable_at(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        prefix: &str,
        max_chars: usize,
        code: &'static str,
    ) -> Option<String> {
        let text = self.string(object, key, prefix)?;
        let trimmed = text.trim();
        let chars = trimmed.chars().count();
        if chars == 0 || chars > max_chars || trimmed.chars().any(char::is_control) {
            self.push(join(prefix, key), code, format!("must be 1 to {max_chars} printable characters"));
            return None;
        }
        Some(trimmed.to_owned())
    }

    /// Text of 1 to `max_chars` characters, trimmed, where line breaks are allowed (paragraphs)
    /// but no other control characters; anything else is `code`.
    pub fn text(&mut self, object: &Map<String, Value>, key: &str, max_chars: usize, code: &'static str) -> Option<String> {
        let text = self.string(object, key, "")?;
        let trimmed = text.trim();
        let chars = trimmed.chars().count();
        if chars == 0 || chars > max_chars || trimmed.chars().any(|c| c.is_control() && c != '\n') {
            self.push(
                key,
                code,
                format!("must be 1 to {max_chars} characters, without control characters but line breaks"),
            );
            return None;
        }
        Some(trimmed.to_owned())
    }

    /// A whole number in `min..=max`; fractions, strings and out-of-range numbers are refused.
    pub fn integer(&mut self, object: &Map<String, Value>, key: &str, prefix: &str, min: i64, max: i64) -> Option<i64> {
        let field = join(prefix, key);
        match object.get(key) {
            None | Some(Value::Null) => {
                self.push(field, "MISSING_FIELD", "is required");
                None
            }
            Some(Value::Number(number)) => match number.as_i64() {
                Some(value) if (min..=max).contains(&value) => Some(value),
                _ => {
                    self.push(field, "OUT_OF_RANGE", format!("must be a whole number from {min} to {max}"));
                    None
                }
            },
            Some(_) => {
                self.push(field, "WRONG_TYPE", "must be a number");
                None
            }
        }
    }
}

pub fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}
