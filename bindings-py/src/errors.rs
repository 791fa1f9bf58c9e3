//! The exception classes, and the one place a core [`Error`] becomes a Python exception.

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyList;
use svccore::Error;

use crate::types::PyIssue;

create_exception!(
    svccore,
    SvcCoreError,
    PyValueError,
    "Base class of every svccore error (a ValueError).\n\n\
     ``kind`` is the core's error kind (``\"parse\"``, ``\"manifest\"``, ...), ``errors`` the\n\
     located issues (each with ``file``, ``path``, ``message``), ``file``/``path`` those of the\n\
     first issue (``None`` when the error has no location).\n\n\
     >>> import svccore\n\
     >>> try:\n\
     ...     svccore.Cluster.from_yaml('kind: [', file='bad.yaml')\n\
     ... except svccore.SvcCoreError as e:\n\
     ...     print(e.kind, e.file, e.path)\n\
     parse bad.yaml line 2 column 1"
);
create_exception!(
    svccore,
    ParseError,
    SvcCoreError,
    "The text is not valid JSON or YAML; ``path`` holds the line and column.\n\n\
     >>> import svccore\n\
     >>> try:\n\
     ...     svccore.Cluster.from_json('{\"kind\": ', file='x.json')\n\
     ... except svccore.ParseError as e:\n\
     ...     print(e)\n\
     cannot parse input: x.json: line 1 column 9: invalid JSON (truncated?): EOF while parsing a value"
);
create_exception!(
    svccore,
    ManifestError,
    SvcCoreError,
    "The objects are not Kubernetes objects svccore can read (no ``kind``, a field of the\n\
     wrong type). ``errors`` lists every problem with its path.\n\n\
     >>> import svccore\n\
     >>> try:\n\
     ...     svccore.Cluster.from_manifests({'kind': 'Service'})\n\
     ... except svccore.ManifestError as e:\n\
     ...     print(e.errors[0].message)\n\
     not a Kubernetes object: apiVersion must be a string"
);
create_exception!(
    svccore,
    ValidationError,
    SvcCoreError,
    "The objects break a rule kube-proxy needs (when building a per-node view). ``errors``\n\
     lists every problem with its path.\n\n\
     >>> import svccore\n\
     >>> c = svccore.Cluster.from_yaml('''\n\
     ... apiVersion: v1\n\
     ... kind: Service\n\
     ... metadata: {name: web}\n\
     ... spec: {clusterIP: 10.96.0.10, ports: [{port: 70000}]}\n\
     ... ''')\n\
     >>> try:\n\
     ...     c.endpoints()\n\
     ... except svccore.ValidationError as e:\n\
     ...     print(e.path)\n\
     spec.ports[0].port"
);
create_exception!(
    svccore,
    UnknownServiceError,
    SvcCoreError,
    "A service (or service port) named by the caller does not exist.\n\n\
     >>> import svccore\n\
     >>> issubclass(svccore.UnknownServiceError, svccore.SvcCoreError)\n\
     True"
);
create_exception!(
    svccore,
    UnknownNodeError,
    SvcCoreError,
    "The node named by the caller has no Node object, and the cluster has Node objects\n\
     (``allow_unknown_node=True`` accepts it). The message names the closest Node.\n\n\
     >>> import svccore\n\
     >>> c = svccore.Cluster.from_yaml('kind: Node\\napiVersion: v1\\nmetadata: {name: node2}')\n\
     >>> try:\n\
     ...     c.render_iptables(node='nodee2')\n\
     ... except svccore.UnknownNodeError as e:\n\
     ...     print(e)\n\
     no Node named nodee2 (did you mean node2?)"
);
create_exception!(
    svccore,
    ConfigError,
    SvcCoreError,
    "A kube-proxy configuration value (or proxier setting) is invalid or missing.\n\n\
     >>> import svccore\n\
     >>> try:\n\
     ...     svccore.ProxyConfig.from_yaml('apiVersion: v1\\nkind: List\\nitems: []')\n\
     ... except svccore.ConfigError as e:\n\
     ...     print(e)\n\
     invalid configuration: no KubeProxyConfiguration in the input"
);
create_exception!(
    svccore,
    InvalidArgumentError,
    SvcCoreError,
    "An argument is invalid (an unknown algorithm, a bad range, ...).\n\n\
     >>> import svccore\n\
     >>> try:\n\
     ...     svccore.Cluster.from_yaml('', node_port_range=(32767, 30000))\n\
     ... except svccore.InvalidArgumentError as e:\n\
     ...     print(e)\n\
     invalid node port range 32767-30000: must be two ports, low first"
);
create_exception!(
    svccore,
    DumpError,
    SvcCoreError,
    "An ``iptables-save`` / ``ipvsadm`` dump given for auditing cannot be parsed.\n\n\
     >>> import svccore\n\
     >>> issubclass(svccore.DumpError, svccore.SvcCoreError)\n\
     True"
);

/// Registers the classes on the module and gives the base class its attribute defaults (so
/// `except SvcCoreError as e: e.errors` works for errors raised by Python code too).
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let base = py.get_type::<SvcCoreError>();
    base.setattr("kind", "error")?;
    base.setattr("file", py.None())?;
    base.setattr("path", py.None())?;
    base.setattr("errors", PyList::empty(py))?;
    m.add("SvcCoreError", base)?;
    m.add("ParseError", py.get_type::<ParseError>())?;
    m.add("ManifestError", py.get_type::<ManifestError>())?;
    m.add("ValidationError", py.get_type::<ValidationError>())?;
    m.add("UnknownServiceError", py.get_type::<UnknownServiceError>())?;
    m.add("UnknownNodeError", py.get_type::<UnknownNodeError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add(
        "InvalidArgumentError",
        py.get_type::<InvalidArgumentError>(),
    )?;
    m.add("DumpError", py.get_type::<DumpError>())?;
    Ok(())
}

/// The one mapping from the core's error kinds to exception classes.
pub(crate) fn to_py_err(e: Error) -> PyErr {
    let msg = e.to_string();
    let err = match &e {
        Error::Parse(_) => ParseError::new_err(msg),
        Error::Manifest(_) => ManifestError::new_err(msg),
        Error::Validation(_) => ValidationError::new_err(msg),
        Error::UnknownService(_) => UnknownServiceError::new_err(msg),
        Error::UnknownNode(_) => UnknownNodeError::new_err(msg),
        Error::Config(_) => ConfigError::new_err(msg),
        Error::InvalidArgument(_) => InvalidArgumentError::new_err(msg),
        Error::Dump(_) => DumpError::new_err(msg),
        // `Error` is non_exhaustive: a kind added to the core later is still an SvcCoreError
        // until it gets its own class here.
        _ => SvcCoreError::new_err(msg),
    };
    Python::attach(|py| {
        let value = err.value(py);
        let issues = e.issues();
        let first = issues.first();
        // Setting attributes on a fresh exception instance cannot fail short of memory
        // exhaustion; the error message alone is still right if it does.
        let _ = value.setattr("kind", e.kind());
        let _ = value.setattr("file", first.and_then(|i| i.file.clone()));
        let _ = value.setattr("path", first.map(|i| i.path.clone()));
        let list: Vec<PyIssue> = issues.iter().map(PyIssue::from).collect();
        let _ = value.setattr("errors", list);
    });
    err
}

/// A core result as a Python result.
pub(crate) fn core<T>(r: svccore::Result<T>) -> PyResult<T> {
    r.map_err(to_py_err)
}

/// Runs an entry point, turning a Rust panic into `SvcCoreError("internal error: ...")` instead
/// of pyo3's `PanicException` (a BaseException that `except Exception` would not catch).
pub(crate) fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            Err(SvcCoreError::new_err(format!("internal error: {what}")))
        }
    }
}
