//! Loading: JSON or YAML text → typed objects → one [`Cluster`].
//!
//! Accepts a single object, a `kind: List` (what `kubectl get ... -o json` prints) or a
//! multi-document YAML stream; several inputs merge. Unknown kinds are skipped with a warning.
//! An object without `apiVersion`/`kind`, or a known kind with a field of the wrong type, is an
//! error naming its path. All such errors are collected before failing.
//!
//! Text is read in one typed pass straight into the model (`load/typed.rs`); that reader gives
//! up on anything that is not a valid object of a kind svccore reads, and the text is then read
//! again by the generic reader here, which builds a `serde_json::Value` tree and names the file
//! and path of every error. Both build the same cluster; only speed and memory differ. The typed
//! reader reads block YAML as `kubectl` prints it with its own reader (`load/yaml.rs`, a subset
//! of YAML that needs no event buffer); any other YAML, and every YAML the generic reader reads,
//! goes through `serde_yaml_ng` (libyaml), the maintained fork of the archived `serde_yaml`.
//! The typed reader is the cargo feature `typed-reader` (on by default): the WebAssembly
//! binding builds the core without it, as it adds about 67 KB (gzipped) to the module.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::model::*;
use crate::{Error, Issue, Result};

/// A loaded set of objects: the cluster as svccore knows it.
#[derive(Clone, Debug, Default)]
pub struct Cluster {
    /// Services, in input order.
    pub services: Vec<Service>,
    /// EndpointSlices: given ones, then those converted from legacy Endpoints or derived from
    /// Pods (these carry the label `endpointslice.kubernetes.io/managed-by: svccore`).
    pub slices: Vec<EndpointSlice>,
    /// Legacy Endpoints, as given (also converted into `slices`).
    pub endpoints: Vec<Endpoints>,
    /// Nodes.
    pub nodes: Vec<Node>,
    /// Pods.
    pub pods: Vec<Pod>,
    /// ServiceCIDRs, in input order.
    pub service_cidrs: Vec<ServiceCidr>,
    /// The last KubeProxyConfiguration given, if any.
    pub proxy_config: Option<ProxyConfig>,
    /// The API server's `--service-node-port-range` the objects were loaded with (`None`: the
    /// default 30000-32767): node ports outside it are reported when rendering.
    pub node_port_range: Option<(u16, u16)>,
    /// Non-fatal findings: skipped kinds, derived or allocated values.
    pub warnings: Vec<Issue>,
}

/// Moves the objects and warnings of `from` to the end of `to`'s (the typed reader's objects
/// into the cluster being loaded, or one list's into another's).
#[cfg(feature = "typed-reader")]
fn append_objects(to: &mut Cluster, from: &mut Cluster) {
    move_all(&mut to.services, &mut from.services);
    move_all(&mut to.slices, &mut from.slices);
    move_all(&mut to.endpoints, &mut from.endpoints);
    move_all(&mut to.nodes, &mut from.nodes);
    move_all(&mut to.pods, &mut from.pods);
    move_all(&mut to.service_cidrs, &mut from.service_cidrs);
    move_all(&mut to.warnings, &mut from.warnings);
}

/// `to.append(from)`, taking `from`'s buffer when `to` is empty: a list's objects then move
/// from reader to cluster without a second buffer of them alive at once.
#[cfg(feature = "typed-reader")]
fn move_all<T>(to: &mut Vec<T>, from: &mut Vec<T>) {
    if to.is_empty() {
        std::mem::swap(to, from);
    } else {
        to.append(from);
    }
}

/// The label svccore puts on slices it derived (from Endpoints or Pods).
pub const DERIVED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
/// The value of [`DERIVED_BY_LABEL`] on derived slices.
pub const DERIVED_BY: &str = "svccore";

/// Accumulates inputs, then builds a [`Cluster`].
///
/// # Example
/// ```
/// let mut l = svccore::Loader::new();
/// l.add_str(Some("a.json"), r#"{"apiVersion":"v1","kind":"List","items":[]}"#).unwrap();
/// let c = l.finish().unwrap();
/// assert!(c.services.is_empty());
/// ```
#[derive(Debug, Default)]
pub struct Loader {
    cluster: Cluster,
    errors: Vec<Issue>,
    service_cidr: Option<ipnet::IpNet>,
    node_port_range: Option<(u16, u16)>,
    client_keys: bool,
    /// Only the generic reader (see [`Loader::generic_reader`]). Without the typed reader
    /// (feature `typed-reader` off) every text is read that way and the flag changes nothing.
    #[cfg_attr(not(feature = "typed-reader"), allow(dead_code))]
    generic_only: bool,
    /// Objects seen so far (every kind, skipped ones too; not the lists around them).
    objects: usize,
}

impl Loader {
    /// A loader with the default service CIDR (10.96.0.0/12) and node port range (30000-32767)
    /// for allocating what the manifests leave out.
    pub fn new() -> Self {
        Loader::default()
    }

    /// Sets the service CIDR cluster IPs are allocated from when a Service has none.
    pub fn service_cidr(&mut self, cidr: ipnet::IpNet) -> &mut Self {
        self.service_cidr = Some(cidr);
        self
    }

    /// Sets the node port range node ports are allocated from when a NodePort/LoadBalancer
    /// Service port has none.
    pub fn node_port_range(&mut self, lo: u16, hi: u16) -> &mut Self {
        self.node_port_range = Some((lo, hi));
        self
    }

    /// Also reads objects in the official Kubernetes Python client's `to_dict()` form
    /// (snake_case keys such as `api_version`, `cluster_ip`, `cluster_i_ps`): an object with
    /// `api_version` and no `apiVersion` is converted to the API spelling first, see
    /// [`client_keys`]. Off by default; the Python binding's `Cluster.from_manifests` turns it on.
    pub fn client_keys(&mut self, on: bool) -> &mut Self {
        self.client_keys = on;
        self
    }

    /// Reads every input with the generic reader alone (a `serde_json::Value` tree of the whole
    /// text, then the objects), the reference the one-pass typed reader is tested against. The
    /// cluster, warnings and errors are the same either way; the typed reader is several times
    /// faster and holds no tree.
    pub fn generic_reader(&mut self, on: bool) -> &mut Self {
        self.generic_only = on;
        self
    }

    /// Parses one input text (JSON, or YAML with any number of documents) and adds its objects.
    ///
    /// A syntax error fails at once ([`Error::Parse`]); structural errors are collected and
    /// reported by [`Loader::finish`] together with those of other inputs.
    pub fn add_str(&mut self, file: Option<&str>, text: &str) -> Result<()> {
        let before = self.objects;
        #[cfg(feature = "typed-reader")]
        if let Some(mut found) = self.read_typed(file, text) {
            append_objects(&mut self.cluster, &mut found.objects_of);
            self.objects += found.objects;
            self.warn_if_empty(file, before);
            return Ok(());
        }
        let docs = parse_documents(file, text)?;
        let single = docs.len() == 1;
        for (i, doc) in docs.into_iter().enumerate() {
            let path = if single {
                String::new()
            } else {
                format!("[{i}]")
            };
            self.add_value_at(file, &path, &doc);
        }
        self.warn_if_empty(file, before);
        Ok(())
    }

    /// The typed reader's objects, when it can read the text alone (see [`typed`]).
    #[cfg(feature = "typed-reader")]
    fn read_typed(&self, file: Option<&str>, text: &str) -> Option<typed::Found> {
        if self.generic_only || self.client_keys {
            // Objects in the Python client's spelling are converted on the tree.
            return None;
        }
        let trimmed = text.trim_start_matches('\u{feff}').trim_start();
        if trimmed.is_empty() {
            return None;
        }
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            return typed::read_json(file, trimmed);
        }
        typed::read_yaml(file, text)
    }

    /// Adds already-parsed objects (a JSON value: one object, a `List`, or an array of them).
    pub fn add_value(&mut self, file: Option<&str>, value: &Value) {
        let before = self.objects;
        self.add_value_at(file, "", value);
        self.warn_if_empty(file, before);
    }

    /// An input without a single object (an empty file, only comments, an empty `List`) is
    /// most likely the wrong file or a `kubectl get` that matched nothing: say so.
    fn warn_if_empty(&mut self, file: Option<&str>, before: usize) {
        if self.objects == before {
            let message = match file {
                Some(_) => "holds no Kubernetes objects",
                None => "the input holds no Kubernetes objects",
            };
            self.cluster.warnings.push(Issue::new(file, "", message));
        }
    }

    fn add_value_at(&mut self, file: Option<&str>, path: &str, v: &Value) {
        match v {
            Value::Null => {} // an empty YAML document
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.add_value_at(file, &format!("{path}[{i}]"), item);
                }
            }
            Value::Object(map) if self.client_keys && client_keys::is_client_form(map) => {
                self.add_object(file, path, &client_keys::to_api(map))
            }
            Value::Object(map) => self.add_object(file, path, map),
            other => self.errors.push(Issue::new(
                file,
                path,
                format!("expected a Kubernetes object, got {}", type_name(other)),
            )),
        }
    }

    fn add_object(&mut self, file: Option<&str>, path: &str, map: &Map<String, Value>) {
        let loc = Loc {
            file: file.map(SharedStr::from),
            path: path.into(),
        };
        let kind = map.get("kind");
        let api = map.get("apiVersion");
        let (kind, api) = match (kind, api) {
            (Some(Value::String(k)), Some(Value::String(a))) => (k.as_str(), a.as_str()),
            (k, a) => {
                let mut missing = Vec::new();
                if !matches!(k, Some(Value::String(_))) {
                    missing.push("kind");
                }
                if !matches!(a, Some(Value::String(_))) {
                    missing.push("apiVersion");
                }
                self.errors.push(loc.issue(
                    "",
                    format!(
                        "not a Kubernetes object: {} must be a string",
                        missing.join(" and ")
                    ),
                ));
                return;
            }
        };
        let mut r = Reader {
            loc: &loc,
            errors: &mut self.errors,
        };
        if !is_list_kind(kind) {
            self.objects += 1;
        }
        match kind {
            "List" => {
                if let Some(items) = r.list(map, "items") {
                    for (i, item) in items.iter().enumerate() {
                        self.add_value_at(file, &loc.field(&format!("items[{i}]")), item);
                    }
                }
            }
            "ServiceList" | "EndpointSliceList" | "EndpointsList" | "NodeList" | "PodList"
            | "ServiceCIDRList" => {
                // The API server (`kubectl get --raw`, client libraries, curl) writes the items
                // of a typed list without `kind` and `apiVersion`: the list's type says them, and
                // Kubernetes' list decoding takes them from there. Do the same.
                let item_kind = &kind[..kind.len() - "List".len()];
                if let Some(items) = r.list(map, "items") {
                    for (i, item) in items.iter().enumerate() {
                        let path = loc.field(&format!("items[{i}]"));
                        match item {
                            Value::Object(m) if m.get("kind").is_none_or(Value::is_null) => {
                                let mut m = m.clone();
                                m.insert("kind".into(), Value::String(item_kind.to_owned()));
                                if m.get("apiVersion").is_none_or(Value::is_null) {
                                    m.insert("apiVersion".into(), Value::String(api.to_owned()));
                                }
                                self.add_value_at(file, &path, &Value::Object(m));
                            }
                            _ => self.add_value_at(file, &path, item),
                        }
                    }
                }
            }
            "Service" if api == "v1" => {
                let s = r.service(map);
                self.cluster.services.push(s);
            }
            "EndpointSlice" if api.starts_with("discovery.k8s.io/") => {
                let s = r.endpoint_slice(map);
                self.cluster.slices.push(s);
            }
            "Endpoints" if api == "v1" => {
                let e = r.endpoints(map);
                self.cluster.endpoints.push(e);
            }
            "Node" if api == "v1" => {
                let n = r.node(map);
                self.cluster.nodes.push(n);
            }
            "Pod" if api == "v1" => {
                let p = r.pod(map);
                self.cluster.pods.push(p);
            }
            "ServiceCIDR"
                if matches!(api, "networking.k8s.io/v1" | "networking.k8s.io/v1beta1") =>
            {
                let s = r.service_cidr(map);
                self.cluster.service_cidrs.push(s);
            }
            "KubeProxyConfiguration" if api.starts_with("kubeproxy.config.k8s.io/") => {
                let c = r.proxy_config(map);
                self.cluster.proxy_config = Some(c);
            }
            _ => self.cluster.warnings.push(loc.issue(
                "",
                format!("skipping {kind} ({api}): not a kind svccore uses"),
            )),
        }
    }

    /// Finishes loading: fails with every structural error found, else converts legacy
    /// Endpoints, derives endpoints from Pods, allocates missing cluster IPs and node ports.
    pub fn finish(self) -> Result<Cluster> {
        if !self.errors.is_empty() {
            return Err(Error::Manifest(self.errors));
        }
        let mut c = self.cluster;
        c.node_port_range = self.node_port_range;
        crate::load::derive::complete(
            &mut c,
            self.service_cidr
                .unwrap_or_else(|| "10.96.0.0/12".parse().expect("constant")),
            self.node_port_range.unwrap_or((30000, 32767)),
        );
        Ok(c)
    }
}

/// Loads several `(file name, text)` inputs into one cluster.
pub fn load_strs<'a>(
    inputs: impl IntoIterator<Item = (Option<&'a str>, &'a str)>,
) -> Result<Cluster> {
    let mut l = Loader::new();
    for (f, t) in inputs {
        l.add_str(f, t)?;
    }
    l.finish()
}

fn parse_documents(file: Option<&str>, text: &str) -> Result<Vec<Value>> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        // JSON (YAML is a superset, but JSON errors are clearer from the JSON parser).
        return match serde_json::from_str::<Value>(trimmed) {
            Ok(v) => Ok(vec![v]),
            Err(e) => Err(Error::Parse(Issue::new(
                file,
                format!("line {} column {}", e.line(), e.column()),
                json_error_message(&e),
            ))),
        };
    }
    if let Some((line, column)) = too_deep_flow(text) {
        return Err(Error::Parse(Issue::new(
            file,
            format!("line {line} column {column}"),
            format!("invalid YAML: `[`/`{{` nested deeper than {MAX_FLOW_DEPTH} levels"),
        )));
    }
    let mut out = Vec::new();
    for (i, de) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        match <Value as serde::Deserialize>::deserialize(de) {
            Ok(v) => out.push(v),
            Err(e) => {
                let path = match e.location() {
                    Some(l) => format!("line {} column {}", l.line(), l.column()),
                    None => format!("document {}", i + 1),
                };
                let msg = e.to_string();
                // serde_yaml_ng appends " at line X column Y"; the path already says it.
                let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
                return Err(Error::Parse(Issue::new(
                    file,
                    path,
                    format!("invalid YAML: {msg}"),
                )));
            }
        }
    }
    Ok(out)
}

/// The deepest `[`/`{` nesting read as YAML. libyaml's scanner walks every open flow level for
/// each token, so deep flow nesting costs depth × size (100 KB of `[` takes minutes); the
/// deserializer refuses anything past 128 levels anyway, so a deeper text can never load.
const MAX_FLOW_DEPTH: usize = 256;

/// The line and column (1-based) where `[`/`{` nesting passes [`MAX_FLOW_DEPTH`], counted in
/// one linear pass outside `#` comments and quoted scalars. Brackets inside block scalars are
/// counted too, which can only refuse a text with hundreds of unclosed brackets in its strings.
pub(super) fn too_deep_flow(text: &str) -> Option<(usize, usize)> {
    let (mut depth, mut line, mut col) = (0usize, 1usize, 0usize);
    let mut prev = '\n';
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        col += 1;
        let starts_token = prev.is_whitespace() || matches!(prev, '[' | '{' | ',' | ':');
        match c {
            '\n' => {
                line += 1;
                col = 0;
            }
            '#' if prev.is_whitespace() => {
                // A comment runs to the end of the line.
                for d in chars.by_ref() {
                    if d == '\n' {
                        line += 1;
                        col = 0;
                        break;
                    }
                }
                prev = '\n';
                continue;
            }
            '"' | '\'' if starts_token => {
                // A quoted scalar: `\"` escapes in double quotes, `''` in single ones (read as
                // a closing and an opening quote, which comes to the same).
                let mut escaped = false;
                for d in chars.by_ref() {
                    col += 1;
                    if d == '\n' {
                        line += 1;
                        col = 0;
                    }
                    if c == '"' && d == '\\' && !escaped {
                        escaped = true;
                        continue;
                    }
                    if d == c && !escaped {
                        break;
                    }
                    escaped = false;
                }
            }
            '[' | '{' => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Some((line, col));
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        prev = c;
    }
    None
}

fn json_error_message(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
    if e.is_eof() {
        format!("invalid JSON (truncated?): {msg}")
    } else {
        format!("invalid JSON: {msg}")
    }
}

/// The list kinds the loader opens: `List` and the typed lists of the kinds it reads.
fn is_list_kind(kind: &str) -> bool {
    matches!(
        kind,
        "List"
            | "ServiceList"
            | "EndpointSliceList"
            | "EndpointsList"
            | "NodeList"
            | "PodList"
            | "ServiceCIDRList"
    )
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Typed field access over a JSON object, recording wrong types with their path.
struct Reader<'a> {
    loc: &'a Loc,
    errors: &'a mut Vec<Issue>,
}

type Obj = Map<String, Value>;

impl Reader<'_> {
    fn bad(&mut self, path: &str, want: &str, got: &Value) {
        self.errors.push(
            self.loc
                .issue(path, format!("must be {want}, got {}", type_name(got))),
        );
    }

    fn get<'v>(&self, o: &'v Obj, key: &str) -> Option<&'v Value> {
        o.get(key).filter(|v| !v.is_null())
    }

    fn str(&mut self, o: &Obj, base: &str, key: &str) -> Option<String> {
        match self.get(o, key)? {
            Value::String(s) => Some(s.clone()),
            other => {
                self.bad(&join(base, key), "a string", other);
                None
            }
        }
    }

    fn int(&mut self, o: &Obj, base: &str, key: &str) -> Option<i64> {
        match self.get(o, key)? {
            Value::Number(n) if n.is_i64() => n.as_i64(),
            Value::Number(n) if n.is_u64() => Some(i64::MAX),
            other => {
                self.bad(&join(base, key), "an integer", other);
                None
            }
        }
    }

    fn bool(&mut self, o: &Obj, base: &str, key: &str) -> Option<bool> {
        match self.get(o, key)? {
            Value::Bool(b) => Some(*b),
            other => {
                self.bad(&join(base, key), "a boolean", other);
                None
            }
        }
    }

    fn obj<'v>(&mut self, o: &'v Obj, base: &str, key: &str) -> Option<&'v Obj> {
        match self.get(o, key)? {
            Value::Object(m) => Some(m),
            other => {
                self.bad(&join(base, key), "an object", other);
                None
            }
        }
    }

    fn list<'v>(&mut self, o: &'v Obj, key: &str) -> Option<&'v Vec<Value>> {
        self.list_at(o, "", key)
    }

    fn list_at<'v>(&mut self, o: &'v Obj, base: &str, key: &str) -> Option<&'v Vec<Value>> {
        match self.get(o, key)? {
            Value::Array(a) => Some(a),
            other => {
                self.bad(&join(base, key), "a list", other);
                None
            }
        }
    }

    /// A list of objects; wrong-typed entries are reported and skipped. Yields (path, object).
    fn objs<'v>(&mut self, o: &'v Obj, base: &str, key: &str) -> Vec<(String, &'v Obj)> {
        let mut out = Vec::new();
        if let Some(a) = self.list_at(o, base, key) {
            for (i, v) in a.iter().enumerate() {
                let p = format!("{}[{i}]", join(base, key));
                match v {
                    Value::Object(m) => out.push((p, m)),
                    other => self.bad(&p, "an object", other),
                }
            }
        }
        out
    }

    fn strs(&mut self, o: &Obj, base: &str, key: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(a) = self.list_at(o, base, key) {
            for (i, v) in a.iter().enumerate() {
                match v {
                    Value::String(s) => out.push(s.clone()),
                    other => self.bad(&format!("{}[{i}]", join(base, key)), "a string", other),
                }
            }
        }
        out
    }

    fn str_map(&mut self, o: &Obj, base: &str, key: &str) -> Option<LabelMap> {
        let m = self.obj(o, base, key)?;
        let mut out = BTreeMap::new();
        for (k, v) in m {
            match v {
                Value::String(s) => {
                    out.insert(k.clone(), s.clone());
                }
                other => self.bad(&format!("{}.{k}", join(base, key)), "a string", other),
            }
        }
        Some(out.into())
    }

    fn meta(&mut self, o: &Obj) -> ObjectMeta {
        let mut meta = ObjectMeta {
            namespace: "default".into(),
            ..Default::default()
        };
        let Some(m) = self.obj(o, "", "metadata") else {
            self.errors.push(self.loc.issue("metadata", "is required"));
            return meta;
        };
        match self.str(m, "metadata", "name") {
            Some(n) => meta.name = n.into(),
            None if !m.contains_key("name") => self
                .errors
                .push(self.loc.issue("metadata.name", "is required")),
            None => {}
        }
        if let Some(ns) = self.str(m, "metadata", "namespace") {
            if !ns.is_empty() {
                meta.namespace = ns.into();
            }
        }
        meta.labels = self.str_map(m, "metadata", "labels").unwrap_or_default();
        meta.annotations = self
            .str_map(m, "metadata", "annotations")
            .unwrap_or_default();
        meta.deleting = self.str(m, "metadata", "deletionTimestamp").is_some();
        meta
    }

    fn protocol(&mut self, o: &Obj, base: &str) -> Protocol {
        self.str(o, base, "protocol")
            .map(|s| Protocol::parse(&s))
            .unwrap_or_default()
    }

    fn service(&mut self, o: &Obj) -> Service {
        let mut s = Service {
            loc: self.loc.clone(),
            meta: self.meta(o),
            ..Default::default()
        };
        let mut m = ServiceMore::default();
        let empty = Obj::new();
        let spec = self.obj(o, "", "spec").unwrap_or(&empty);
        let b = "spec";
        s.type_ = self
            .str(spec, b, "type")
            .map(|t| ServiceType::parse(&t))
            .unwrap_or_default();
        s.cluster_ip = self.str(spec, b, "clusterIP");
        m.cluster_ips = self.strs(spec, b, "clusterIPs");
        m.ip_families = self.strs(spec, b, "ipFamilies");
        m.ip_family_policy = self.str(spec, b, "ipFamilyPolicy");
        for (p, po) in self.objs(spec, b, "ports") {
            let mut port = ServicePort {
                name: self.str(po, &p, "name").unwrap_or_default(),
                protocol: self.protocol(po, &p),
                ..Default::default()
            };
            match self.int(po, &p, "port") {
                Some(n) => port.port = n,
                None if !po.contains_key("port") => self
                    .errors
                    .push(self.loc.issue(&join(&p, "port"), "is required")),
                None => {}
            }
            port.target_port = match self.get(po, "targetPort") {
                None => None,
                Some(Value::Number(n)) if n.is_i64() => {
                    Some(IntOrString::Int(n.as_i64().unwrap_or(0)))
                }
                Some(Value::String(x)) => Some(match x.parse::<i64>() {
                    // kubectl prints ints; a numeric string is still a name in the API, but
                    // YAML users often quote numbers. Keep it as a string; validation decides.
                    Ok(_) | Err(_) => IntOrString::Str(x.as_str().into()),
                }),
                Some(other) => {
                    self.bad(&join(&p, "targetPort"), "an integer or a string", other);
                    None
                }
            };
            port.node_port = self.int(po, &p, "nodePort");
            port.app_protocol = self.str(po, &p, "appProtocol").map(Box::from);
            s.ports.push(port);
        }
        s.selector = self.str_map(spec, b, "selector");
        m.external_ips = self.strs(spec, b, "externalIPs");
        m.external_name = self.str(spec, b, "externalName");
        m.load_balancer_ip = self.str(spec, b, "loadBalancerIP");
        m.load_balancer_source_ranges = self.strs(spec, b, "loadBalancerSourceRanges");
        s.external_traffic_policy = self
            .str(spec, b, "externalTrafficPolicy")
            .map(|t| TrafficPolicy::parse(&t));
        s.internal_traffic_policy = self
            .str(spec, b, "internalTrafficPolicy")
            .map(|t| TrafficPolicy::parse(&t));
        m.health_check_node_port = self.int(spec, b, "healthCheckNodePort");
        s.session_affinity = match self.str(spec, b, "sessionAffinity").as_deref() {
            None | Some("None") => SessionAffinity::None,
            Some("ClientIP") => SessionAffinity::ClientIP,
            Some(o) => SessionAffinity::Other(o.into()),
        };
        if let Some(sac) = self.obj(spec, b, "sessionAffinityConfig") {
            let p = "spec.sessionAffinityConfig";
            if let Some(cip) = self.obj(sac, p, "clientIP") {
                m.affinity_timeout = self.int(cip, &join(p, "clientIP"), "timeoutSeconds");
            }
        }
        m.topology_keys = self.strs(spec, b, "topologyKeys");
        m.traffic_distribution = self.str(spec, b, "trafficDistribution");
        s.publish_not_ready_addresses = self
            .bool(spec, b, "publishNotReadyAddresses")
            .unwrap_or(false);
        if let Some(st) = self.obj(o, "", "status") {
            if let Some(lb) = self.obj(st, "status", "loadBalancer") {
                for (p, ing) in self.objs(lb, "status.loadBalancer", "ingress") {
                    m.lb_ingress.push(LoadBalancerIngress {
                        ip: self.str(ing, &p, "ip"),
                        hostname: self.str(ing, &p, "hostname"),
                        ip_mode: self.str(ing, &p, "ipMode"),
                    });
                }
            }
        }
        s.set_more(m);
        s
    }

    fn endpoint_slice(&mut self, o: &Obj) -> EndpointSlice {
        let mut s = EndpointSlice {
            loc: self.loc.clone(),
            meta: self.meta(o),
            ..Default::default()
        };
        match self.str(o, "", "addressType") {
            Some(t) => s.address_type = t.into(),
            None if !o.contains_key("addressType") => self
                .errors
                .push(self.loc.issue("addressType", "is required")),
            None => {}
        }
        for (p, po) in self.objs(o, "", "ports") {
            s.ports.push(EndpointPort {
                name: self.str(po, &p, "name"),
                port: self.int(po, &p, "port"),
                protocol: self.protocol(po, &p),
                app_protocol: self.str(po, &p, "appProtocol").map(Box::from),
            });
        }
        for (p, eo) in self.objs(o, "", "endpoints") {
            let mut e = Endpoint::at(
                self.strs(eo, &p, "addresses")
                    .into_iter()
                    .collect::<Addresses>(),
            );
            if let Some(c) = self.obj(eo, &p, "conditions") {
                let cp = join(&p, "conditions");
                e.ready = self.bool(c, &cp, "ready");
                e.serving = self.bool(c, &cp, "serving");
                e.terminating = self.bool(c, &cp, "terminating");
            }
            e.place = Placement::new(
                self.str(eo, &p, "nodeName").map(SharedStr::from),
                self.str(eo, &p, "zone").map(SharedStr::from),
            );
            e.set_hostname(self.str(eo, &p, "hostname").map(Box::from));
            if let Some(h) = self.obj(eo, &p, "hints") {
                let hp = join(&p, "hints");
                let names = |key: &str, this: &mut Self| {
                    h.contains_key(key).then(|| {
                        this.objs(h, &hp, key)
                            .into_iter()
                            .filter_map(|(np, n)| this.str(n, &np, "name").map(Box::from))
                            .collect()
                    })
                };
                let zones = names("forZones", self);
                let nodes = names("forNodes", self);
                e.set_hints(zones, nodes);
            }
            let topo_key = if eo.contains_key("deprecatedTopology") {
                "deprecatedTopology"
            } else {
                "topology"
            };
            e.set_topology(self.str_map(eo, &p, topo_key).unwrap_or_default());
            if let Some(t) = self.obj(eo, &p, "targetRef") {
                let tp = join(&p, "targetRef");
                if self.str(t, &tp, "kind").as_deref() == Some("Pod") {
                    e.target_pod = self.str(t, &tp, "name").map(Box::from);
                }
            }
            s.endpoints.push(e);
        }
        s
    }

    fn endpoint_address(&mut self, p: &str, a: &Obj) -> EndpointAddress {
        let mut ea = EndpointAddress {
            ip: self.str(a, p, "ip").unwrap_or_default(),
            node_name: self.str(a, p, "nodeName"),
            hostname: self.str(a, p, "hostname"),
            target_pod: None,
        };
        if let Some(t) = self.obj(a, p, "targetRef") {
            let tp = join(p, "targetRef");
            if self.str(t, &tp, "kind").as_deref() == Some("Pod") {
                ea.target_pod = self.str(t, &tp, "name");
            }
        }
        ea
    }

    fn endpoints(&mut self, o: &Obj) -> Endpoints {
        let mut e = Endpoints {
            loc: self.loc.clone(),
            meta: self.meta(o),
            ..Default::default()
        };
        for (p, so) in self.objs(o, "", "subsets") {
            let mut sub = EndpointSubset::default();
            for (ap, a) in self.objs(so, &p, "addresses") {
                let ea = self.endpoint_address(&ap, a);
                sub.addresses.push(ea);
            }
            for (ap, a) in self.objs(so, &p, "notReadyAddresses") {
                let ea = self.endpoint_address(&ap, a);
                sub.not_ready_addresses.push(ea);
            }
            for (pp, po) in self.objs(so, &p, "ports") {
                let name = self.str(po, &pp, "name").unwrap_or_default();
                let port = self.int(po, &pp, "port").unwrap_or(0);
                let proto = self.protocol(po, &pp);
                sub.ports.push((name, port, proto));
            }
            e.subsets.push(sub);
        }
        e
    }

    fn node(&mut self, o: &Obj) -> Node {
        let mut n = Node {
            loc: self.loc.clone(),
            meta: self.meta(o),
            ..Default::default()
        };
        if let Some(spec) = self.obj(o, "", "spec") {
            n.pod_cidrs = self.strs(spec, "spec", "podCIDRs");
            if n.pod_cidrs.is_empty() {
                n.pod_cidrs.extend(self.str(spec, "spec", "podCIDR"));
            }
        }
        if let Some(st) = self.obj(o, "", "status") {
            for (p, a) in self.objs(st, "status", "addresses") {
                n.addresses.push(NodeAddress {
                    type_: self.str(a, &p, "type").unwrap_or_default(),
                    address: self.str(a, &p, "address").unwrap_or_default(),
                });
            }
        }
        n
    }

    fn pod(&mut self, o: &Obj) -> Pod {
        let mut pod = Pod {
            loc: self.loc.clone(),
            meta: self.meta(o),
            ..Default::default()
        };
        if let Some(spec) = self.obj(o, "", "spec") {
            pod.node_name = self.str(spec, "spec", "nodeName");
            pod.hostname = self.str(spec, "spec", "hostname");
            for (cp, c) in self.objs(spec, "spec", "containers") {
                for (pp, po) in self.objs(c, &cp, "ports") {
                    let port = ContainerPort {
                        name: self.str(po, &pp, "name"),
                        container_port: self.int(po, &pp, "containerPort").unwrap_or(0),
                        protocol: self.protocol(po, &pp),
                    };
                    pod.container_ports.push(port);
                }
            }
        }
        if let Some(st) = self.obj(o, "", "status") {
            pod.phase = self.str(st, "status", "phase");
            for (p, ip) in self.objs(st, "status", "podIPs") {
                pod.pod_ips.extend(self.str(ip, &p, "ip"));
            }
            if pod.pod_ips.is_empty() {
                pod.pod_ips.extend(self.str(st, "status", "podIP"));
            }
            for (p, c) in self.objs(st, "status", "conditions") {
                if self.str(c, &p, "type").as_deref() == Some("Ready") {
                    pod.ready = Some(self.str(c, &p, "status").as_deref() == Some("True"));
                }
            }
        }
        pod
    }

    fn service_cidr(&mut self, o: &Obj) -> ServiceCidr {
        let mut s = ServiceCidr {
            loc: self.loc.clone(),
            meta: self.meta(o),
            ..Default::default()
        };
        // Cluster-scoped: `meta` defaults the namespace for namespaced kinds.
        s.meta.namespace.clear();
        if let Some(spec) = self.obj(o, "", "spec") {
            s.cidrs = self.strs(spec, "spec", "cidrs");
        }
        s
    }

    fn proxy_config(&mut self, o: &Obj) -> ProxyConfig {
        let mut c = ProxyConfig {
            loc: self.loc.clone(),
            ..Default::default()
        };
        c.mode = self.str(o, "", "mode");
        c.cluster_cidr = self.str(o, "", "clusterCIDR");
        c.hostname_override = self.str(o, "", "hostnameOverride");
        c.port_range = self.str(o, "", "portRange");
        c.bind_address = self.str(o, "", "bindAddress");
        if let Some(ipt) = self.obj(o, "", "iptables") {
            c.masquerade_all = self.bool(ipt, "iptables", "masqueradeAll");
            c.masquerade_bit = self.int(ipt, "iptables", "masqueradeBit");
            c.localhost_nodeports = self.bool(ipt, "iptables", "localhostNodePorts");
        }
        if let Some(ipvs) = self.obj(o, "", "ipvs") {
            c.ipvs_scheduler = self.str(ipvs, "ipvs", "scheduler");
            c.ipvs_strict_arp = self.bool(ipvs, "ipvs", "strictARP");
        }
        c.nodeport_addresses = self.strs(o, "", "nodePortAddresses");
        c.detect_local_mode = self
            .str(o, "", "detectLocalMode")
            .map(|m| match m.as_str() {
                "ClusterCIDR" => DetectLocalMode::ClusterCidr,
                "NodeCIDR" => DetectLocalMode::NodeCidr,
                "BridgeInterface" => DetectLocalMode::BridgeInterface,
                "InterfaceNamePrefix" => DetectLocalMode::InterfaceNamePrefix,
                _ => DetectLocalMode::Other(m),
            });
        if let Some(dl) = self.obj(o, "", "detectLocal") {
            c.bridge_interface = self.str(dl, "detectLocal", "bridgeInterface");
            c.interface_name_prefix = self.str(dl, "detectLocal", "interfaceNamePrefix");
        }
        c
    }
}

fn join(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_owned()
    } else {
        format!("{base}.{key}")
    }
}

pub mod client_keys;
mod derive;
#[cfg(feature = "typed-reader")]
mod typed;
#[cfg(feature = "typed-reader")]
mod yaml;

/// What the block-YAML reader of the typed reader makes of a text, each document as a JSON
/// value; `None` when the text is outside its subset. For the `yaml_subset` fuzz target, which
/// compares it with `serde_yaml_ng` (`cargo fuzz` builds with `--cfg fuzzing`).
#[cfg(all(fuzzing, feature = "typed-reader"))]
#[doc(hidden)]
pub fn block_yaml_values(text: &str) -> Option<Vec<Value>> {
    yaml::values(text)
}
