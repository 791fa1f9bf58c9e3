//! The one error type of the core.
//!
//! Every variant says where the problem is: the input file (when known) and the path inside the
//! object, written the way `kubectl explain` names fields (`items[3].spec.ports[1].port`).

use std::fmt;

/// A single finding located in the input: a load error, a validation error or a warning.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Issue {
    /// The input file (or `-` for stdin, or `None` when the text had no name).
    pub file: Option<String>,
    /// Path inside the input, e.g. `items[3].spec.ports[1].port`; empty for the whole document.
    pub path: String,
    /// What is wrong, in one sentence without a trailing period.
    pub message: String,
}

impl Issue {
    /// Builds an issue.
    pub fn new(file: Option<&str>, path: impl Into<String>, message: impl Into<String>) -> Self {
        Issue {
            file: file.map(str::to_owned),
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Everything that can go wrong in svccore.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The text is not valid JSON or YAML (truncated, bad syntax). `path` holds the line and
    /// column when the parser knows them.
    Parse(Issue),
    /// The objects are not Kubernetes objects svccore can read: no `apiVersion`/`kind`, or fields
    /// of the wrong type. Every problem found is listed.
    Manifest(Vec<Issue>),
    /// The objects parse but break the API server's validation rules (or, when loading for
    /// rendering, something kube-proxy itself would refuse). Every problem found is listed.
    Validation(Vec<Issue>),
    /// A service (or service port) named by the caller does not exist in the snapshot.
    UnknownService(String),
    /// The node named by the caller has no Node object while the input has Node objects
    /// (`no Node named nodee2 (did you mean node2?)`).
    UnknownNode(String),
    /// A proxier setting or kube-proxy configuration value is invalid.
    Config(Issue),
    /// An argument to a selection algorithm or simulation is invalid (unknown algorithm, empty
    /// backend set, non-prime table size, bad address).
    InvalidArgument(String),
    /// An `iptables-save` / `ipvsadm` dump given for auditing cannot be parsed.
    Dump(Issue),
}

impl Error {
    /// The located issues this error carries (empty for errors without a location).
    pub fn issues(&self) -> Vec<Issue> {
        match self {
            Error::Parse(i) | Error::Config(i) | Error::Dump(i) => vec![i.clone()],
            Error::Manifest(v) | Error::Validation(v) => v.clone(),
            Error::UnknownService(_) | Error::UnknownNode(_) | Error::InvalidArgument(_) => {
                Vec::new()
            }
        }
    }

    /// A short, stable name of the error kind (`parse`, `manifest`, `validation`, ...), used by
    /// the bindings to pick an exception class and by `-o json` output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Parse(_) => "parse",
            Error::Manifest(_) => "manifest",
            Error::Validation(_) => "validation",
            Error::UnknownService(_) => "unknown-service",
            Error::UnknownNode(_) => "unknown-node",
            Error::Config(_) => "config",
            Error::InvalidArgument(_) => "invalid-argument",
            Error::Dump(_) => "dump",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list(f: &mut fmt::Formatter<'_>, what: &str, v: &[Issue]) -> fmt::Result {
            if v.len() == 1 {
                return write!(f, "{what}: {}", v[0]);
            }
            write!(f, "{} {what} errors:", v.len())?;
            for i in v {
                write!(f, "\n  {i}")?;
            }
            Ok(())
        }
        match self {
            Error::Parse(i) => write!(f, "cannot parse input: {i}"),
            Error::Manifest(v) => list(f, "invalid manifest", v),
            Error::Validation(v) => list(f, "invalid object", v),
            Error::UnknownService(s) => write!(f, "unknown service {s}"),
            Error::UnknownNode(s) => f.write_str(s),
            Error::Config(i) => write!(f, "invalid configuration: {i}"),
            Error::InvalidArgument(s) => f.write_str(s),
            Error::Dump(i) => write!(f, "cannot parse dump: {i}"),
        }
    }
}

impl std::error::Error for Error {}

/// Result alias of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;
