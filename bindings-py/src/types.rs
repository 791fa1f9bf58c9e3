//! Small read-only records handed to Python: issues, services, reports, the proxy config.
//!
//! Each holds plain values converted from the core's types (no logic), and `to_dict()` is its
//! serde form.

use pyo3::prelude::*;
use pyo3::types::{PyAny, PyString};
use serde::Serialize;
use svccore::model::{self, IntOrString, TrafficPolicy};
use svccore::report::{EndpointsReport, Summary};

use crate::convert::record_to_py;
use crate::errors::guard;

/// A finding located in the input: ``file`` (or ``None``), ``path`` inside the object(s) and
/// ``message``. ``str(issue)`` is ``file: path: message``.
///
/// >>> import svccore
/// >>> c = svccore.Cluster.from_yaml('''
/// ... apiVersion: v1
/// ... kind: Service
/// ... metadata: {name: web}
/// ... spec: {clusterIP: 10.96.0.10, ports: [{port: 0}]}
/// ... ''', file='web.yaml')
/// >>> issue = c.validate()[0]
/// >>> (issue.file, issue.path)
/// ('web.yaml', 'spec.ports[0].port')
/// >>> print(issue)
/// web.yaml: spec.ports[0].port: must be between 1 and 65535, got 0
#[pyclass(name = "Issue", module = "svccore", frozen, eq, hash, get_all)]
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct PyIssue {
    /// The input file, ``-`` for standard input, ``None`` when the input had no name.
    pub file: Option<String>,
    /// Where in the input, e.g. ``items[3].spec.ports[1].port``; empty for the whole document.
    pub path: String,
    /// What is wrong, one sentence.
    pub message: String,
}

impl From<&svccore::Issue> for PyIssue {
    fn from(i: &svccore::Issue) -> Self {
        PyIssue {
            file: i.file.clone(),
            path: i.path.clone(),
            message: i.message.clone(),
        }
    }
}

#[pymethods]
impl PyIssue {
    /// The issue as a dict with ``file``, ``path`` and ``message``.
    ///
    /// >>> import svccore
    /// >>> c = svccore.Cluster.from_manifests({'apiVersion': 'v9', 'kind': 'Gizmo'}, file='g')
    /// >>> c.warnings[0].to_dict()
    /// {'file': 'g', 'path': '', 'message': 'skipping Gizmo (v9): not a kind svccore uses'}
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        record_to_py(py, self)
    }

    fn __str__(&self) -> String {
        svccore::Issue {
            file: self.file.clone(),
            path: self.path.clone(),
            message: self.message.clone(),
        }
        .to_string()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let r = |s: &str| -> PyResult<String> { Ok(PyString::new(py, s).repr()?.to_string()) };
        let file = match &self.file {
            Some(f) => r(f)?,
            None => "None".to_owned(),
        };
        Ok(format!(
            "Issue(file={file}, path={}, message={})",
            r(&self.path)?,
            r(&self.message)?
        ))
    }
}

/// A ``targetPort``: a number or a named container port.
#[derive(Clone, Debug, Serialize, IntoPyObject)]
#[serde(untagged)]
pub enum TargetPort {
    /// A port number.
    Int(i64),
    /// A container port name.
    Str(String),
}

/// One entry of a Service's ``spec.ports``.
///
/// >>> import svccore
/// >>> c = svccore.Cluster.from_yaml('''
/// ... apiVersion: v1
/// ... kind: Service
/// ... metadata: {name: web}
/// ... spec: {type: NodePort, clusterIP: 10.96.0.10, ports: [{name: http, port: 80, targetPort: web, nodePort: 30080}]}
/// ... ''')
/// >>> p = c.services[0].ports[0]
/// >>> (p.name, p.protocol, p.port, p.target_port, p.node_port)
/// ('http', 'TCP', 80, 'web', 30080)
#[pyclass(name = "ServicePort", module = "svccore", frozen, get_all)]
#[derive(Clone, Debug, Serialize)]
pub struct PyServicePort {
    /// ``name`` (empty when unnamed).
    pub name: String,
    /// ``protocol``: ``TCP``, ``UDP``, ``SCTP`` (or an invalid value as written).
    pub protocol: String,
    /// ``port``.
    pub port: i64,
    /// ``targetPort``: an int, a port name, or ``None`` (same as ``port``).
    pub target_port: Option<TargetPort>,
    /// ``nodePort`` (given or allocated), ``None`` when the port has none.
    pub node_port: Option<i64>,
}

#[pymethods]
impl PyServicePort {
    /// The port as a dict.
    ///
    /// >>> import svccore
    /// >>> c = svccore.Cluster.from_yaml('{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}, "spec": {"clusterIP": "10.96.0.1", "ports": [{"port": 53, "protocol": "UDP"}]}}')
    /// >>> c.services[0].ports[0].to_dict()
    /// {'name': '', 'protocol': 'UDP', 'port': 53, 'target_port': None, 'node_port': None}
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        record_to_py(py, self)
    }

    fn __repr__(&self) -> String {
        format!(
            "<ServicePort {}/{}{}>",
            self.port,
            self.protocol,
            if self.name.is_empty() {
                String::new()
            } else {
                format!(" {:?}", self.name)
            }
        )
    }
}

fn policy(p: &Option<TrafficPolicy>) -> Option<String> {
    p.as_ref().map(|p| match p {
        TrafficPolicy::Cluster => "Cluster".to_owned(),
        TrafficPolicy::Local => "Local".to_owned(),
        TrafficPolicy::Other(s) => s.to_string(),
    })
}

/// A Service as loaded (after the control plane's defaults: allocated cluster IP and node
/// ports).
///
/// >>> import svccore
/// >>> c = svccore.Cluster.from_yaml('''
/// ... apiVersion: v1
/// ... kind: Service
/// ... metadata: {name: web, namespace: shop}
/// ... spec: {clusterIP: 10.96.0.10, selector: {app: web}, ports: [{port: 80}]}
/// ... ''')
/// >>> s = c.services[0]
/// >>> (s.key, s.type, s.cluster_ip, s.headless, s.selector)
/// ('shop/web', 'ClusterIP', '10.96.0.10', False, {'app': 'web'})
#[pyclass(name = "Service", module = "svccore", frozen, get_all)]
#[derive(Clone, Debug, Serialize)]
pub struct PyService {
    /// ``metadata.namespace`` (``default`` when absent).
    pub namespace: String,
    /// ``metadata.name``.
    pub name: String,
    /// ``namespace/name``.
    pub key: String,
    /// ``spec.type`` (``ClusterIP`` when absent).
    #[pyo3(name = "type")]
    #[serde(rename = "type")]
    pub type_: String,
    /// ``spec.clusterIP`` (``"None"`` for headless), ``None`` when absent.
    pub cluster_ip: Option<String>,
    /// ``spec.clusterIPs``.
    pub cluster_ips: Vec<String>,
    /// ``spec.ipFamilies``.
    pub ip_families: Vec<String>,
    /// Whether the service is headless (``clusterIP: None``).
    pub headless: bool,
    /// ``spec.externalName``.
    pub external_name: Option<String>,
    /// ``spec.ports``.
    pub ports: Vec<PyServicePort>,
    /// ``spec.selector``; ``None`` when absent.
    pub selector: Option<std::collections::BTreeMap<String, String>>,
    /// ``spec.externalIPs``.
    pub external_ips: Vec<String>,
    /// ``spec.externalTrafficPolicy``.
    pub external_traffic_policy: Option<String>,
    /// ``spec.internalTrafficPolicy``.
    pub internal_traffic_policy: Option<String>,
    /// The input file it came from.
    pub file: Option<String>,
    /// Its path in that file (``items[2]``, ``[1]`` for a second YAML document).
    pub path: String,
}

impl From<&model::Service> for PyService {
    fn from(s: &model::Service) -> Self {
        PyService {
            namespace: s.meta.namespace.to_string(),
            name: s.meta.name.to_string(),
            key: s.key(),
            type_: s.type_.as_str().to_owned(),
            cluster_ip: s.cluster_ip.clone(),
            cluster_ips: s.cluster_ips().to_vec(),
            ip_families: s.ip_families().to_vec(),
            headless: s.is_headless(),
            external_name: s.external_name().map(str::to_owned),
            ports: s
                .ports
                .iter()
                .map(|p| PyServicePort {
                    name: p.name.clone(),
                    protocol: p.protocol.as_api().to_owned(),
                    port: p.port,
                    target_port: p.target_port.as_ref().map(|t| match t {
                        IntOrString::Int(i) => TargetPort::Int(*i),
                        IntOrString::Str(s) => TargetPort::Str(s.to_string()),
                    }),
                    node_port: p.node_port.filter(|n| *n != 0),
                })
                .collect(),
            selector: s.selector.as_ref().map(svccore::model::LabelMap::to_btree),
            external_ips: s.external_ips().to_vec(),
            external_traffic_policy: policy(&s.external_traffic_policy),
            internal_traffic_policy: policy(&s.internal_traffic_policy),
            file: s.loc.file.as_deref().map(str::to_owned),
            path: s.loc.path.to_string(),
        }
    }
}

#[pymethods]
impl PyService {
    /// The service as a dict (ports as dicts).
    ///
    /// >>> import svccore
    /// >>> c = svccore.Cluster.from_yaml('{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}, "spec": {"clusterIP": "None"}}')
    /// >>> d = c.services[0].to_dict()
    /// >>> (d['key'], d['headless'], d['ports'])
    /// ('default/a', True, [])
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        record_to_py(py, self)
    }

    fn __repr__(&self) -> String {
        format!("<Service {} {}>", self.key, self.type_)
    }
}

/// Counts describing a cluster; ``str(summary)`` is a one-line text.
///
/// >>> import svccore
/// >>> c = svccore.Cluster.from_yaml('''
/// ... apiVersion: v1
/// ... kind: Service
/// ... metadata: {name: web}
/// ... spec: {clusterIP: 10.96.0.10, ports: [{port: 80}, {port: 443, name: https}]}
/// ... ''')
/// >>> s = c.summary()
/// >>> (s.services, s.service_ports, s.services_by_type)
/// (1, 2, {'ClusterIP': 1})
/// >>> print(s)
/// 1 service (1 ClusterIP), 2 service ports, 0 endpoints, 0 nodes
#[pyclass(name = "Summary", module = "svccore", frozen)]
#[derive(Clone, Debug)]
pub struct PySummary(pub Summary);

#[pymethods]
impl PySummary {
    /// Services of every type.
    #[getter]
    fn services(&self) -> usize {
        self.0.services
    }
    /// Services per ``spec.type``.
    #[getter]
    fn services_by_type(&self) -> std::collections::BTreeMap<String, usize> {
        self.0.services_by_type.clone()
    }
    /// Headless services (``clusterIP: None``, not ExternalName).
    #[getter]
    fn headless(&self) -> usize {
        self.0.headless
    }
    /// ExternalName services.
    #[getter]
    fn external_name(&self) -> usize {
        self.0.external_name
    }
    /// Entries of ``spec.ports`` over all services.
    #[getter]
    fn service_ports(&self) -> usize {
        self.0.service_ports
    }
    /// EndpointSlices, given or derived from Endpoints or Pods.
    #[getter]
    fn endpoint_slices(&self) -> usize {
        self.0.endpoint_slices
    }
    /// Endpoints per IP family: ``{"IPv4": {"total": 3, "by_node": {...}, "without_node": 0}}``.
    #[getter]
    fn endpoints<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        record_to_py(py, &self.0.endpoints)
    }
    /// Node objects.
    #[getter]
    fn nodes(&self) -> usize {
        self.0.nodes
    }
    /// Pod objects.
    #[getter]
    fn pods(&self) -> usize {
        self.0.pods
    }
    /// Load warnings.
    #[getter]
    fn warnings(&self) -> usize {
        self.0.warnings
    }

    /// All counts as a dict (what ``svccore validate -o json`` prints as ``summary``).
    ///
    /// >>> import svccore
    /// >>> svccore.Cluster.from_yaml('').summary().to_dict()['services']
    /// 0
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        record_to_py(py, &self.0)
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    fn __repr__(&self) -> String {
        format!("<Summary: {}>", self.0)
    }
}

/// Which endpoints each node uses for each service port (kube-proxy's categorization):
/// ``str(report)`` is the text ``svccore endpoints`` prints; ``to_dict()`` the same as data.
///
/// >>> import svccore
/// >>> c = svccore.Cluster.from_yaml('''
/// ... apiVersion: v1
/// ... kind: Service
/// ... metadata: {name: web}
/// ... spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
/// ... ''')
/// >>> print(c.endpoints(node='node-a'))
/// node node-a (IPv4) [no Node object]
///   default/web TCP 10.96.0.10:80
///     cluster -
///     local   (not used by this port)
///     has endpoints: no
/// <BLANKLINE>
#[pyclass(name = "EndpointsReport", module = "svccore", frozen)]
#[derive(Clone, Debug)]
pub struct PyEndpointsReport(pub EndpointsReport);

#[pymethods]
impl PyEndpointsReport {
    /// The node names the report covers, in order (a dual-stack node appears once).
    #[getter]
    fn nodes(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for n in &self.0.nodes {
            if !out.contains(&n.node) {
                out.push(n.node.clone());
            }
        }
        out
    }

    /// The same report for ``node`` alone (each of its families); ``svccore endpoints --node``
    /// prints it.
    ///
    /// >>> import svccore
    /// >>> c = svccore.Cluster.from_yaml('''
    /// ... apiVersion: v1
    /// ... kind: Node
    /// ... metadata: {name: a}
    /// ... ---
    /// ... apiVersion: v1
    /// ... kind: Service
    /// ... metadata: {name: web}
    /// ... spec: {clusterIP: 10.96.0.1, ports: [{port: 80}]}
    /// ... ''')
    /// >>> r = c.endpoints(node='b')
    /// >>> r.nodes, r.only('b').nodes
    /// (['a', 'b'], ['b'])
    fn only(&self, node: &str) -> PyEndpointsReport {
        PyEndpointsReport(self.0.only(node))
    }

    /// The report as data: ``{"nodes": [{"node", "family", "ports": [...]}, ...]}``.
    ///
    /// >>> import svccore
    /// >>> c = svccore.Cluster.from_yaml('{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}, "spec": {"clusterIP": "10.96.0.1", "ports": [{"port": 80}]}}')
    /// >>> port = c.endpoints(node='n1').to_dict()['nodes'][0]['ports'][0]
    /// >>> (port['service_port_name'], port['cluster'], port['has_endpoints'])
    /// ('default/a', [], False)
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| record_to_py(py, &self.0))
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    fn __repr__(&self) -> String {
        format!("<EndpointsReport of {} node(s)>", self.nodes().len())
    }
}
