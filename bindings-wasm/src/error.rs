//! The core's [`svccore::Error`] as a JavaScript `Error`.
//!
//! `message` is the core's `Display`; extra properties make it inspectable without parsing:
//! `kind` (`parse`, `manifest`, `validation`, ...), `issues` (every located problem, as
//! `{file, path, message}`), and `path`/`file` of the first issue (empty / `null` when the
//! error has no location), as minijinja-js and lightningcss do. `name` is `SvcCoreError`.

use wasm_bindgen::JsValue;

/// What every fallible export returns: the error side is the JavaScript `Error` object.
pub type JsResult<T> = Result<T, JsValue>;

/// Builds the JavaScript `Error` for a core error.
pub fn to_js_error(err: &svccore::Error) -> JsValue {
    build(err, err.issues())
}

/// Like [`to_js_error`], for an error caused by one argument or option: an error the core
/// reports without a location (`invalid-argument`, `unknown-service`) gets `path` (the option's
/// name, e.g. `dst` or `options.clients`) and one issue at that path.
pub fn to_js_error_at(err: &svccore::Error, path: &str) -> JsValue {
    let mut issues = err.issues();
    if issues.is_empty() {
        issues.push(svccore::Issue::new(None, path, err.to_string()));
    }
    build(err, issues)
}

/// An `invalid-argument` error at `path`.
pub fn arg_error(path: &str, message: impl Into<String>) -> JsValue {
    to_js_error_at(&svccore::Error::InvalidArgument(message.into()), path)
}

fn build(err: &svccore::Error, issues: Vec<svccore::Issue>) -> JsValue {
    let js = js_sys::Error::new(&err.to_string());
    js.set_name("SvcCoreError");
    let first = issues.first();
    let obj: &JsValue = js.as_ref();
    let set = |key: &str, value: JsValue| {
        // Reflect.set on a fresh Error object cannot fail.
        let _ = js_sys::Reflect::set(obj, &JsValue::from_str(key), &value);
    };
    set("kind", JsValue::from_str(err.kind()));
    set(
        "path",
        JsValue::from_str(first.map(|i| i.path.as_str()).unwrap_or("")),
    );
    set(
        "file",
        first
            .and_then(|i| i.file.as_deref())
            .map_or(JsValue::NULL, JsValue::from_str),
    );
    let list = js_sys::Array::new();
    for i in &issues {
        let o = js_sys::Object::new();
        let _ = js_sys::Reflect::set(
            &o,
            &"file".into(),
            &i.file.as_deref().map_or(JsValue::NULL, JsValue::from_str),
        );
        let _ = js_sys::Reflect::set(&o, &"path".into(), &JsValue::from_str(&i.path));
        let _ = js_sys::Reflect::set(&o, &"message".into(), &JsValue::from_str(&i.message));
        list.push(&o);
    }
    set("issues", list.into());
    js.into()
}
