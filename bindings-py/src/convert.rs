//! Python values ↔ JSON values (`serde_json::Value`), the form the core reads and writes.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use svccore::{Error, Issue};

/// Deeper than any Kubernetes object; stops a self-containing dict from overflowing the stack.
const MAX_DEPTH: usize = 128;

/// Converts manifests given as Python objects: dicts, lists, tuples, scalars, objects with a
/// `to_dict()` method (the official Kubernetes client's models) and dates/datetimes (their
/// `isoformat()`). Anything else is a manifest error naming its path.
pub(crate) fn from_py(obj: &Bound<'_, PyAny>, file: Option<&str>) -> Result<Value, Error> {
    let mut path = String::new();
    let mut w = Walker {
        file,
        keys: HashMap::new(),
    };
    w.walk(obj, &mut path, 0)
        .map_err(|i| Error::Manifest(vec![i]))
}

/// The state of one conversion: dict keys already converted, by `str` object. Manifests repeat
/// a few dozen keys thousands of times (and `json.load` shares one `str` per distinct key), so
/// each key object is read once. The map holds a reference to each key, so an address cannot
/// be reused by another object during the walk.
struct Walker<'a, 'py> {
    file: Option<&'a str>,
    keys: HashMap<usize, (Bound<'py, PyString>, String)>,
}

impl<'py> Walker<'_, 'py> {
    fn bad(&self, path: &str, msg: String) -> Issue {
        Issue::new(self.file, path, msg)
    }

    fn key(&mut self, k: &Bound<'py, PyString>, path: &str) -> Result<String, Issue> {
        let id = k.as_ptr() as usize;
        if let Some((_, s)) = self.keys.get(&id) {
            return Ok(s.clone());
        }
        let s = k
            .to_cow()
            .map_err(|_| self.bad(path, "key is not valid Unicode".into()))?
            .into_owned();
        self.keys.insert(id, (k.clone(), s.clone()));
        Ok(s)
    }

    fn walk(
        &mut self,
        obj: &Bound<'py, PyAny>,
        path: &mut String,
        depth: usize,
    ) -> Result<Value, Issue> {
        if depth > MAX_DEPTH {
            return Err(self.bad(path, "nested too deeply (a cycle?)".into()));
        }
        // The common types first: strings, dicts, lists.
        if let Ok(s) = obj.cast::<PyString>() {
            return s
                .to_cow()
                .map(|s| Value::String(s.into_owned()))
                .map_err(|_| self.bad(path, "string is not valid Unicode".into()));
        }
        if let Ok(d) = obj.cast::<PyDict>() {
            let mut map = Map::with_capacity(d.len());
            for (k, v) in d.iter() {
                let Ok(key) = k.cast::<PyString>() else {
                    return Err(
                        self.bad(path, format!("keys must be strings, got {}", type_name(&k)))
                    );
                };
                let key = self.key(key, path)?;
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&key);
                let value = self.walk(&v, path, depth + 1)?;
                path.truncate(len);
                map.insert(key, value);
            }
            return Ok(Value::Object(map));
        }
        if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
            let mut out = Vec::with_capacity(obj.len().unwrap_or(0));
            for (i, item) in obj
                .try_iter()
                .map_err(|e| self.bad(path, e.to_string()))?
                .enumerate()
            {
                let item = item.map_err(|e| self.bad(path, e.to_string()))?;
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                out.push(self.walk(&item, path, depth + 1)?);
                path.truncate(len);
            }
            return Ok(Value::Array(out));
        }
        if obj.is_none() {
            return Ok(Value::Null);
        }
        if let Ok(b) = obj.cast::<PyBool>() {
            return Ok(Value::Bool(b.is_true()));
        }
        if obj.is_instance_of::<PyInt>() {
            if let Ok(i) = obj.extract::<i64>() {
                return Ok(Value::from(i));
            }
            if let Ok(u) = obj.extract::<u64>() {
                return Ok(Value::from(u));
            }
            return Err(self.bad(path, format!("integer {obj} is out of range")));
        }
        if let Ok(f) = obj.cast::<PyFloat>() {
            return Number::from_f64(f.value())
                .map(Value::Number)
                .ok_or_else(|| self.bad(path, format!("{obj} is not a finite number")));
        }
        for (method, what) in [("to_dict", "to_dict()"), ("isoformat", "isoformat()")] {
            if obj.hasattr(method).unwrap_or(false) {
                let v = obj
                    .call_method0(method)
                    .map_err(|e| self.bad(path, format!("{what} failed: {e}")))?;
                return self.walk(&v, path, depth + 1);
            }
        }
        Err(self.bad(
            path,
            format!(
                "unsupported value of type {}: expected dict, list, str, int, float, bool or None",
                type_name(obj)
            ),
        ))
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// Converts a JSON value (from a core record's serde form) to plain Python objects.
pub(crate) fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let list = PyList::empty(py);
            for item in a {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, item) in m {
                d.set_item(k, to_py(py, item)?)?;
            }
            d.into_any()
        }
    })
}

/// A serializable record as a Python dict (or list, ...).
pub(crate) fn record_to_py<'py>(
    py: Python<'py>,
    record: &impl serde::Serialize,
) -> PyResult<Bound<'py, PyAny>> {
    let v = serde_json::to_value(record).map_err(|e| {
        crate::errors::SvcCoreError::new_err(format!("internal error: cannot convert: {e}"))
    })?;
    to_py(py, &v)
}
