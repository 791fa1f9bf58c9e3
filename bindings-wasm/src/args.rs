//! Option objects from JavaScript (`{node, family, ...}`), read field by field so that every
//! mistake is an `invalid-argument` error whose `path` names the option.
//!
//! The object goes through `JSON.stringify` (one call; `undefined` fields vanish, as they
//! should) into a `serde_json` map; each getter checks one field's type and range.

use serde_json::{Map, Value};
use wasm_bindgen::JsValue;

use crate::error::{arg_error, JsResult};

/// An options object, its fields checked against the names the export knows.
#[derive(Debug, Default)]
pub struct Args {
    map: Map<String, Value>,
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

impl Args {
    /// Reads `value` (an object, or `undefined`/`null` for no options). Unknown fields are
    /// refused, naming them and the known ones.
    pub fn from_js(value: &JsValue, known: &[&str]) -> JsResult<Args> {
        if value.is_undefined() || value.is_null() {
            return Ok(Args::default());
        }
        if !value.is_object() || js_sys::Array::is_array(value) {
            return Err(arg_error("", "options must be an object"));
        }
        let text = js_sys::JSON::stringify(value)
            .map_err(|_| arg_error("", "options must be plain JSON-like values"))?;
        let text = String::from(text);
        let map: Map<String, Value> = serde_json::from_str(&text)
            .map_err(|e| arg_error("", format!("options must be an object: {e}")))?;
        for k in map.keys() {
            if !known.contains(&k.as_str()) {
                return Err(arg_error(
                    k,
                    format!("unknown option {k:?} (known: {})", known.join(", ")),
                ));
            }
        }
        Ok(Args { map })
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// An option's JSON value as given (`null` = absent), for the core to check.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.get(key)
    }

    /// A string option (`null` = absent).
    pub fn str(&self, key: &str) -> JsResult<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(arg_error(
                key,
                format!("{key} must be a string, got {}", describe(v)),
            )),
        }
    }

    /// A required string option.
    pub fn required_str(&self, key: &str) -> JsResult<String> {
        match self.str(key)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(arg_error(key, format!("{key} is required"))),
        }
    }

    /// A whole number in `lo..=hi`.
    pub fn int(&self, key: &str, lo: u64, hi: u64) -> JsResult<Option<u64>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let n = v.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0);
        match n {
            Some(f) if f >= lo as f64 && f <= hi as f64 => Ok(Some(f as u64)),
            _ => Err(arg_error(
                key,
                format!(
                    "{key} must be a whole number between {lo} and {hi}, got {}",
                    describe(v)
                ),
            )),
        }
    }

    /// A finite number ≥ 0.
    pub fn seconds(&self, key: &str) -> JsResult<Option<f64>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match v.as_f64() {
            Some(f) if f.is_finite() && f >= 0.0 => Ok(Some(f)),
            _ => Err(arg_error(
                key,
                format!("{key} must be a number of seconds ≥ 0, got {}", describe(v)),
            )),
        }
    }

    /// A boolean.
    pub fn bool(&self, key: &str) -> JsResult<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(arg_error(
                key,
                format!("{key} must be true or false, got {}", describe(v)),
            )),
        }
    }

    /// A list of strings; a single string counts as a comma-separated list.
    pub fn strings(&self, key: &str) -> JsResult<Option<Vec<String>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(
                s.split(',')
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(str::to_owned)
                    .collect(),
            )),
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(arg_error(
                        &format!("{key}[{i}]"),
                        format!("{key}[{i}] must be a string, got {}", describe(v)),
                    )),
                })
                .collect::<JsResult<Vec<_>>>()
                .map(Some),
            Some(v) => Err(arg_error(
                key,
                format!("{key} must be a list of strings, got {}", describe(v)),
            )),
        }
    }

    /// A list of whole numbers in `0..=hi`.
    pub fn ints(&self, key: &str, hi: u64) -> JsResult<Option<Vec<u64>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_f64()
                        .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= hi as f64)
                        .map(|f| f as u64)
                        .ok_or_else(|| {
                            arg_error(
                                &format!("{key}[{i}]"),
                                format!(
                                    "{key}[{i}] must be a whole number between 0 and {hi}, got {}",
                                    describe(v)
                                ),
                            )
                        })
                })
                .collect::<JsResult<Vec<_>>>()
                .map(Some),
            Some(v) => Err(arg_error(
                key,
                format!("{key} must be a list of numbers, got {}", describe(v)),
            )),
        }
    }
}

/// Converts the keys of a serialized core record to camelCase, the spelling of every record
/// this module returns (`dst_port` → `dstPort`). Values are untouched; the records converted
/// have no maps keyed by data.
pub fn camel_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (camel(&k), camel_keys(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(camel_keys).collect()),
        other => other,
    }
}

fn camel(k: &str) -> String {
    let mut out = String::with_capacity(k.len());
    let mut up = false;
    for c in k.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.push(c.to_ascii_uppercase()); // option names are ASCII
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_keys() {
        assert_eq!(camel("dst_port"), "dstPort");
        assert_eq!(camel("expected_share"), "expectedShare");
        assert_eq!(camel("kind"), "kind");
        let v = camel_keys(serde_json::json!({"a_b": [{"c_d": "e_f"}]}));
        assert_eq!(v, serde_json::json!({"aB": [{"cD": "e_f"}]}));
    }
}
