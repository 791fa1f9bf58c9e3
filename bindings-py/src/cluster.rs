//! `svccore.Cluster`: loaded Kubernetes objects, and what svccore computes from them.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use svccore::packet::{parse_packet, proxier_family, PacketArgs, TRACE_MODES};
use svccore::proxier::config::ProxyMode;
use svccore::proxier::node::require_known_node;
use svccore::report::{EndpointsReport, Summary};
use svccore::validate::{validate, ValidateOptions};
use svccore::{Error, Issue, Loader};

use crate::config::PyProxyConfig;
use crate::convert::{from_py, to_py};
use crate::errors::{core, guard};
use crate::select::PySimulationReport;
use crate::tracers::TracerCache;
use crate::types::{PyEndpointsReport, PyIssue, PyService, PySummary};
use svccore::model::IpFamily;
use svccore::simulate::{simulate_with_progress, SimulateOptions};

use crate::proxy::{
    bad, family as fam, proxier_settings as proxier_settings_of, settings_flags, snapshot_warnings,
    PyAuditReport, PyTraceResult,
};

/// A loader with the caller's node port range (used to allocate missing node ports).
fn loader(node_port_range: Option<(i64, i64)>) -> svccore::Result<Loader> {
    let mut l = Loader::new();
    if let Some((lo, hi)) = node_port_range {
        match (u16::try_from(lo), u16::try_from(hi)) {
            (Ok(lo), Ok(hi)) if 0 < lo && lo <= hi => {
                l.node_port_range(lo, hi);
            }
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "invalid node port range {lo}-{hi}: must be two ports, low first"
                )))
            }
        }
    }
    Ok(l)
}

fn load_texts(
    py: Python<'_>,
    inputs: Vec<(Option<String>, Text)>,
    node_port_range: Option<(i64, i64)>,
) -> PyResult<PyCluster> {
    let inputs = inputs
        .into_iter()
        .map(|(file, text)| Input {
            file,
            text,
            objects: false,
        })
        .collect();
    load_origin(
        py,
        Origin {
            node_port_range,
            inputs,
        },
    )
}

/// What a cluster was loaded from, kept so that it pickles: unpickling loads the same inputs
/// again, in the same order and with the same node port range, which gives the same cluster
/// (objects, allocations, warnings). The texts are shared between clones, not copied.
#[derive(Clone, Debug)]
pub(crate) struct Origin {
    node_port_range: Option<(i64, i64)>,
    inputs: std::sync::Arc<[Input]>,
}

/// One input: a JSON or YAML text, or Python objects as the JSON they were converted to
/// (`objects`: read with the client's snake_case keys too, as `from_manifests` does).
#[derive(Debug)]
struct Input {
    file: Option<String>,
    text: Text,
    objects: bool,
}

/// An input's text: read by Rust, or the caller's Python `bytes` (its UTF-8 checked when
/// loaded) or `str`, kept as the object itself: a file's bytes handed over by the `svccore`
/// command are neither copied nor held twice, and an ASCII `str` is read in place (its UTF-8
/// form is its own data; CPython keeps one UTF-8 copy inside any other `str`).
#[derive(Debug)]
enum Text {
    Owned(String),
    Bytes(Py<PyBytes>),
    Str(Py<PyString>),
}

impl Text {
    /// A Python `str` or `bytes`, kept as is; a `str` that has no UTF-8 form (a lone
    /// surrogate) raises `UnicodeEncodeError` here.
    fn of(text: &Bound<'_, PyAny>) -> PyResult<Text> {
        if let Ok(b) = text.cast::<PyBytes>() {
            return Ok(Text::Bytes(b.clone().unbind()));
        }
        match text.cast::<PyString>() {
            Ok(s) => {
                s.to_str()?;
                Ok(Text::Str(s.clone().unbind()))
            }
            Err(_) => Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "a text must be str or bytes, not {}",
                text.get_type()
                    .name()
                    .map_or_else(|_| "?".into(), |n| n.to_string())
            ))),
        }
    }

    /// The text; bytes that are not UTF-8 are a parse error naming the file and the byte.
    fn as_str<'a>(&'a self, py: Python<'a>, file: Option<&str>) -> svccore::Result<&'a str> {
        match self {
            Text::Owned(s) => Ok(s),
            // Checked by `Text::of`.
            Text::Str(s) => s.bind_borrowed(py).extract::<&str>().map_err(|e| {
                Error::Parse(Issue::new(file, "text", format!("not UTF-8 text: {e}")))
            }),
            Text::Bytes(b) => std::str::from_utf8(b.as_bytes(py)).map_err(|e| {
                Error::Parse(Issue::new(
                    file,
                    format!("byte {}", e.valid_up_to()),
                    "not UTF-8 text",
                ))
            }),
        }
    }
}

/// The version of the pickled state below; unpickling refuses any other.
const PICKLE_VERSION: u32 = 1;

/// The pickled state: `(version, node_port_range, [(file, text, objects), ...])`.
type PickleState = (u32, Option<(i64, i64)>, Vec<(Option<String>, String, bool)>);

fn load_origin(py: Python<'_>, origin: Origin) -> PyResult<PyCluster> {
    let texts = origin
        .inputs
        .iter()
        .map(|i| i.text.as_str(py, i.file.as_deref()))
        .collect::<svccore::Result<Vec<&str>>>();
    let cluster = core(py.detach(|| {
        let mut l = loader(origin.node_port_range)?;
        for (i, text) in origin.inputs.iter().zip(texts?) {
            if i.objects {
                let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
                    Error::Parse(Issue::new(
                        i.file.as_deref(),
                        "",
                        format!("pickled objects: {e}"),
                    ))
                })?;
                l.client_keys(true).add_value(i.file.as_deref(), &value);
                l.client_keys(false);
            } else {
                l.add_str(i.file.as_deref(), text)?;
            }
        }
        l.finish()
    }))?;
    Ok(PyCluster(
        cluster,
        TracerCache::default(),
        origin,
        ProxyWarnings::default(),
    ))
}

/// A rendered text as `str`; or, given a binary file `out`, written to it in UTF-8 (returning
/// `None`): in `bytes` of about 1 MiB ([`svccore::netfilter::write_in_pieces`]), so that a text
/// of tens of megabytes is never a Python object nor encoded (two copies, each into memory the
/// process touches for the first time). Like `shutil.copyfileobj`, each piece is written with
/// one `write` call (a buffered file writes all of it).
fn text_or_write(
    py: Python<'_>,
    text: &str,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let Some(out) = out else {
        return Ok(PyString::new(py, text).into_any().unbind());
    };
    let mut w = PyWriter::new(out);
    svccore::netfilter::write_in_pieces(text, &mut |piece| w.write(piece));
    w.failed.map(|()| py.None())
}

/// A writer for the core's pieces of text that calls `out.write` with each as `bytes`, taking
/// the GIL for the call when the caller does not hold it (a render runs without it); after a
/// failed write it writes nothing more and keeps the error.
struct PyWriter {
    out: Py<PyAny>,
    failed: PyResult<()>,
}

impl PyWriter {
    fn new(out: &Bound<'_, PyAny>) -> PyWriter {
        PyWriter {
            out: out.clone().unbind(),
            failed: Ok(()),
        }
    }

    fn write(&mut self, piece: &str) {
        if self.failed.is_ok() {
            self.failed = Python::attach(|py| {
                self.out
                    .bind(py)
                    .call_method1("write", (PyBytes::new(py, piece.as_bytes()),))
                    .map(drop)
            });
        }
    }
}

/// Kubernetes objects loaded into one cluster: Services, EndpointSlices, Endpoints, Pods,
/// Nodes and a KubeProxyConfiguration, from JSON/YAML text, files or Python objects.
///
/// Missing pieces are completed as the control plane would (cluster IPs and node ports
/// allocated, EndpointSlices derived from Endpoints or Pods), with a warning each.
///
/// >>> import svccore
/// >>> cluster = svccore.Cluster.from_yaml('''
/// ... apiVersion: v1
/// ... kind: Service
/// ... metadata: {name: web, namespace: shop}
/// ... spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
/// ... ''')
/// >>> [s.key for s in cluster.services]
/// ['shop/web']
/// >>> cluster.validate()
/// []
#[pyclass(name = "Cluster", module = "svccore", frozen)]
#[derive(Clone, Debug)]
pub struct PyCluster(
    pub svccore::Cluster,
    /// The tracers built for this cluster (see `crate::tracers`).
    pub(crate) TracerCache,
    /// What it was loaded from (for pickling).
    pub(crate) Origin,
    /// The proxy snapshot's warnings of each family, once a render built the snapshot.
    pub(crate) ProxyWarnings,
);

/// The warnings of the proxy snapshot of each family (kube-proxy's tolerances), kept from the
/// first render or `proxy_warnings` call that built it. A cluster never changes, so they are
/// the same every time; the `svccore` commands print them after rendering and so build the
/// snapshot once.
#[derive(Clone, Debug, Default)]
pub(crate) struct ProxyWarnings(Arc<[OnceLock<Vec<Issue>>; 2]>);

impl ProxyWarnings {
    fn get(&self, family: IpFamily) -> Option<&[Issue]> {
        self.0[family as usize].get().map(Vec::as_slice)
    }

    fn set(&self, family: IpFamily, warnings: Vec<Issue>) {
        // Set already by another call: the same warnings.
        let _ = self.0[family as usize].set(warnings);
    }

    /// Keeps the warnings of a render and returns its text.
    fn keep(&self, rendered: svccore::render::Rendered) -> String {
        self.set(rendered.family, rendered.warnings);
        rendered.text
    }
}

#[pymethods]
impl PyCluster {
    /// Loads JSON text: one object, a ``kind: List`` (as ``kubectl get -o json`` prints) or
    /// an array of objects. ``file`` names the text in error messages.
    ///
    /// >>> import svccore
    /// >>> c = svccore.Cluster.from_json('{"apiVersion": "v1", "kind": "List", "items": []}')
    /// >>> c.services
    /// []
    #[staticmethod]
    #[pyo3(signature = (text, *, file = None, node_port_range = None))]
    fn from_json(
        py: Python<'_>,
        text: &Bound<'_, PyString>,
        file: Option<String>,
        node_port_range: Option<(i64, i64)>,
    ) -> PyResult<Self> {
        guard(|| {
            let text = Text::of(text)?;
            let t = core(text.as_str(py, file.as_deref()))?;
            let t = t.trim_start_matches('\u{feff}').trim_start();
            if !(t.starts_with('{') || t.starts_with('[')) {
                return core(Err(Error::Parse(Issue::new(
                    file.as_deref(),
                    "line 1 column 1",
                    "invalid JSON: expected an object or an array (use from_yaml for YAML)",
                ))));
            }
            load_texts(py, vec![(file, text)], node_port_range)
        })
    }

    /// Loads YAML text (any number of ``---`` documents, each an object or a ``kind: List``);
    /// JSON is YAML too. ``file`` names the text in error messages.
    ///
    /// >>> import svccore
    /// >>> c = svccore.Cluster.from_yaml('''
    /// ... apiVersion: v1
    /// ... kind: Node
    /// ... metadata: {name: node-a}
    /// ... ---
    /// ... apiVersion: v1
    /// ... kind: Node
    /// ... metadata: {name: node-b}
    /// ... ''', file='nodes.yaml')
    /// >>> c.nodes
    /// ['node-a', 'node-b']
    #[staticmethod]
    #[pyo3(signature = (text, *, file = None, node_port_range = None))]
    fn from_yaml(
        py: Python<'_>,
        text: &Bound<'_, PyString>,
        file: Option<String>,
        node_port_range: Option<(i64, i64)>,
    ) -> PyResult<Self> {
        guard(|| load_texts(py, vec![(file, Text::of(text)?)], node_port_range))
    }

    /// Loads several texts (JSON or YAML) into one cluster: ``sources`` is a list of
    /// ``(file name, text)`` pairs, each text a ``str`` or UTF-8 ``bytes`` (kept as given, not
    /// copied: what the ``svccore`` command passes for ``-f``).
    ///
    /// >>> import svccore
    /// >>> c = svccore.Cluster.from_sources([
    /// ...     ('a.yaml', 'apiVersion: v1\nkind: Node\nmetadata: {name: a}\n'),
    /// ...     ('b.json', '{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "b"}}'),
    /// ... ])
    /// >>> c.nodes
    /// ['a', 'b']
    #[staticmethod]
    #[pyo3(signature = (sources, *, node_port_range = None))]
    fn from_sources(
        py: Python<'_>,
        sources: Vec<(String, Bound<'_, PyAny>)>,
        node_port_range: Option<(i64, i64)>,
    ) -> PyResult<Self> {
        guard(|| {
            let inputs = sources
                .into_iter()
                .map(|(f, t)| Ok((Some(f), Text::of(&t)?)))
                .collect::<PyResult<Vec<_>>>()?;
            load_texts(py, inputs, node_port_range)
        })
    }

    /// Reads JSON or YAML files into one cluster: each argument is a path (``str`` or
    /// ``os.PathLike``) or a list (or tuple) of paths, read in order. Raises ``OSError`` when a
    /// file cannot be read.
    ///
    /// >>> import svccore, tempfile, os
    /// >>> with tempfile.TemporaryDirectory() as d:
    /// ...     paths = [os.path.join(d, n) for n in ('a.yaml', 'b.yaml')]
    /// ...     for p in paths:
    /// ...         with open(p, 'w') as f:
    /// ...             _ = f.write(f'apiVersion: v1\nkind: Node\nmetadata: {{name: {p[-6]}}}\n')
    /// ...     print(svccore.Cluster.from_files(paths[0]).nodes,
    /// ...           svccore.Cluster.from_files(paths).nodes,
    /// ...           svccore.Cluster.from_files(*paths).nodes)
    /// ['a'] ['a', 'b'] ['a', 'b']
    #[staticmethod]
    #[pyo3(signature = (*paths, node_port_range = None))]
    fn from_files(
        py: Python<'_>,
        paths: Vec<Bound<'_, PyAny>>,
        node_port_range: Option<(i64, i64)>,
    ) -> PyResult<Self> {
        guard(|| {
            let mut flat: Vec<PathBuf> = Vec::new();
            for arg in &paths {
                match arg.extract::<PathBuf>() {
                    Ok(p) => flat.push(p),
                    Err(_) => flat.extend(arg.extract::<Vec<PathBuf>>().map_err(|_| {
                        pyo3::exceptions::PyTypeError::new_err(format!(
                            "from_files takes paths or lists of paths, not {}",
                            arg.get_type()
                                .name()
                                .map(|n| n.to_string())
                                .unwrap_or_default()
                        ))
                    })?),
                }
            }
            let mut inputs = Vec::new();
            for p in flat {
                let name = p.display().to_string();
                let bytes = std::fs::read(&p).map_err(|e| {
                    pyo3::exceptions::PyOSError::new_err((
                        e.raw_os_error().unwrap_or(0),
                        e.to_string(),
                        name.clone(),
                    ))
                })?;
                let text = String::from_utf8(bytes).map_err(|e| {
                    crate::errors::to_py_err(Error::Parse(Issue::new(
                        Some(&name),
                        format!("byte {}", e.utf8_error().valid_up_to()),
                        "not UTF-8 text",
                    )))
                })?;
                inputs.push((Some(name), Text::Owned(text)));
            }
            load_texts(py, inputs, node_port_range)
        })
    }

    /// Loads Python objects: a dict (one object or a ``kind: List``), a list of them, or
    /// objects of the official ``kubernetes`` client (``V1Service``, ``V1ServiceList``, ...)
    /// or their ``to_dict()`` (snake_case keys such as ``cluster_ip`` are read too).
    ///
    /// >>> import svccore
    /// >>> svc = {'apiVersion': 'v1', 'kind': 'Service', 'metadata': {'name': 'web'},
    /// ...        'spec': {'clusterIP': '10.96.0.10', 'ports': [{'port': 80}]}}
    /// >>> client_form = {'api_version': 'v1', 'kind': 'Service', 'metadata': {'name': 'db'},
    /// ...                'spec': {'cluster_ip': '10.96.0.11', 'ports': [{'port': 5432}]}}
    /// >>> c = svccore.Cluster.from_manifests([svc, client_form])
    /// >>> [(s.name, s.cluster_ip) for s in c.services]
    /// [('web', '10.96.0.10'), ('db', '10.96.0.11')]
    #[staticmethod]
    #[pyo3(signature = (objects, *, file = None, node_port_range = None))]
    fn from_manifests(
        py: Python<'_>,
        objects: &Bound<'_, PyAny>,
        file: Option<String>,
        node_port_range: Option<(i64, i64)>,
    ) -> PyResult<Self> {
        guard(|| {
            let value = core(from_py(objects, file.as_deref()))?;
            let (cluster, text) = py
                .detach(|| {
                    let mut l = loader(node_port_range)?;
                    l.client_keys(true).add_value(file.as_deref(), &value);
                    Ok::<_, Error>((l.finish()?, value.to_string()))
                })
                .map_err(crate::errors::to_py_err)?;
            let input = Input {
                file,
                text: Text::Owned(text),
                objects: true,
            };
            let origin = Origin {
                node_port_range,
                inputs: [input].into(),
            };
            Ok(PyCluster(
                cluster,
                TracerCache::default(),
                origin,
                ProxyWarnings::default(),
            ))
        })
    }

    /// The Services, in input order.
    #[getter]
    fn services(&self) -> Vec<PyService> {
        self.0.services.iter().map(PyService::from).collect()
    }

    /// The names of the Node objects, in input order.
    #[getter]
    fn nodes(&self) -> Vec<String> {
        self.0
            .nodes
            .iter()
            .map(|n| n.meta.name.to_string())
            .collect()
    }

    /// Non-fatal load findings: skipped kinds, allocated IPs and ports, derived endpoints.
    #[getter]
    fn warnings(&self) -> Vec<PyIssue> {
        self.0.warnings.iter().map(PyIssue::from).collect()
    }

    /// The KubeProxyConfiguration given with the objects, if any.
    #[getter]
    fn proxy_config(&self) -> Option<PyProxyConfig> {
        self.0.proxy_config.as_ref().map(PyProxyConfig::from)
    }

    /// Checks every object against the API server's validation rules (with its
    /// ``--service-node-port-range``); returns every error found (empty: valid).
    ///
    /// >>> import svccore
    /// >>> c = svccore.Cluster.from_yaml('''
    /// ... apiVersion: v1
    /// ... kind: Service
    /// ... metadata: {name: web}
    /// ... spec: {type: NodePort, clusterIP: 10.96.0.10, ports: [{port: 80, nodePort: 30080}]}
    /// ... ''')
    /// >>> c.validate()
    /// []
    /// >>> [str(i) for i in c.validate(node_port_range=(20000, 22767))]
    /// ['spec.ports[0].nodePort: 30080 is not in the valid node port range 20000-22767']
    #[pyo3(
        signature = (node_port_range = (30000, 32767)),
        text_signature = "(self, /, node_port_range=(30000, 32767))"
    )]
    fn validate(&self, py: Python<'_>, node_port_range: (i64, i64)) -> PyResult<Vec<PyIssue>> {
        guard(|| {
            let (lo, hi) = node_port_range;
            if !(1..=65535).contains(&lo) || !(lo..=65535).contains(&hi) {
                return core(Err(Error::InvalidArgument(format!(
                    "invalid node port range {lo}-{hi}: must be two ports, low first"
                ))));
            }
            let opts = ValidateOptions { node_port_range };
            let issues = py.detach(|| validate(&self.0, &opts));
            Ok(issues.iter().map(PyIssue::from).collect())
        })
    }

    /// Counts of services (by type, headless, ExternalName), ports, endpoints per node.
    ///
    /// >>> import svccore
    /// >>> print(svccore.Cluster.from_yaml('').summary())  # the warning: no objects in the input
    /// 0 services, 0 service ports, 0 endpoints, 0 nodes, 1 warning
    fn summary(&self) -> PyResult<PySummary> {
        guard(|| Ok(PySummary(Summary::of(&self.0))))
    }

    /// Which endpoints each node uses for each service port, for every node of the cluster
    /// (Node objects and nodes named by endpoints) plus ``node`` if given. Raises
    /// ``ValidationError`` when a service cannot be proxied at all.
    ///
    /// >>> import svccore
    /// >>> c = svccore.Cluster.from_yaml('''
    /// ... apiVersion: v1
    /// ... kind: Service
    /// ... metadata: {name: web}
    /// ... spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
    /// ... ''')
    /// >>> c.endpoints(node='node-a').nodes
    /// ['node-a']
    #[pyo3(signature = (node = None))]
    fn endpoints(&self, py: Python<'_>, node: Option<&str>) -> PyResult<PyEndpointsReport> {
        guard(|| {
            let report = core(py.detach(|| EndpointsReport::build(&self.0, node)))?;
            Ok(PyEndpointsReport(report))
        })
    }

    /// Simulates ``connections`` new connections from ``clients`` clients over ``duration``
    /// seconds to one service port, through the node's real configuration (traffic policy,
    /// topology, ClientIP affinity) and the ``scheduler``: ``iptables`` (kube-proxy's cascade),
    /// ``nftables`` (its ``numgen random``, affinity in per-endpoint sets), ``userspace`` (the
    /// userspace proxy's round robin over every ready endpoint, its own ClientIP table), an IPVS
    /// scheduler (``svccore.IPVS_SCHEDULERS``), ``maglev`` or ``ring-hash``.
    /// ``source`` is ``"pod"``/``"node"`` (to the cluster IP) or ``"external"`` (node port,
    /// external or LB IP). ``remove_endpoint``/``add_endpoint`` (``"ip:port"``) measure the
    /// disruption of that change. ``node=None`` is the first Node object; a ``node`` no Node
    /// object has raises ``UnknownNodeError`` when the cluster has Node objects, unless
    /// ``allow_unknown_node=True``.
    ///
    /// >>> import svccore
    /// >>> c = svccore.Cluster.from_yaml('''
    /// ... apiVersion: v1
    /// ... kind: Service
    /// ... metadata: {name: web, namespace: shop}
    /// ... spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
    /// ... ---
    /// ... apiVersion: discovery.k8s.io/v1
    /// ... kind: EndpointSlice
    /// ... metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
    /// ... addressType: IPv4
    /// ... ports: [{name: "", port: 8080}]
    /// ... endpoints: [{addresses: [10.1.0.1]}, {addresses: [10.1.0.2]}]
    /// ... ''')
    /// >>> r = c.simulate("shop/web", scheduler="rr", connections=10)
    /// >>> r.picks
    /// {'10.1.0.1:8080': 5, '10.1.0.2:8080': 5}
    #[pyo3(signature = (service, *, node = None, scheduler = "iptables", source = "pod", clients = 100, connections = 10000, duration = 3600.0, hold = 1.0, seed = 0, affinity_timeout = None, flags = None, table_size = None, remove_endpoint = None, add_endpoint = None, samples = 0, progress = None, allow_unknown_node = false))]
    #[allow(clippy::too_many_arguments)]
    fn simulate(
        &self,
        py: Python<'_>,
        service: &str,
        node: Option<String>,
        scheduler: &str,
        source: &str,
        clients: u32,
        connections: u32,
        duration: f64,
        hold: f64,
        seed: u64,
        affinity_timeout: Option<u32>,
        flags: Option<Vec<String>>,
        table_size: Option<u32>,
        remove_endpoint: Option<String>,
        add_endpoint: Option<String>,
        samples: usize,
        progress: Option<Py<PyAny>>,
        allow_unknown_node: bool,
    ) -> PyResult<PySimulationReport> {
        guard(|| {
            if let Some(n) = &node {
                core(require_known_node(&self.0, n, allow_unknown_node))?;
            }
            let opts = SimulateOptions {
                service: service.to_owned(),
                node,
                algorithm: core(scheduler.parse())?,
                source: core(source.parse())?,
                clients,
                connections,
                duration,
                hold,
                seed,
                affinity_timeout,
                flags: core(flags.unwrap_or_default().join(",").parse())?,
                table_size,
                remove_endpoint,
                add_endpoint,
                samples,
            };
            // `progress(done, total)` is called about a hundred times; its exceptions stop
            // nothing (they are reported once the run is over).
            let mut failed: Option<PyErr> = None;
            let r = core(py.detach(|| {
                let mut report = |done: u32, total: u32| {
                    if let (Some(cb), None) = (&progress, &failed) {
                        Python::attach(|py| {
                            if let Err(e) = cb.call1(py, (done, total)) {
                                failed = Some(e);
                            }
                        });
                    }
                };
                simulate_with_progress(&self.0, &opts, &mut report)
            }))?;
            if let Some(e) = failed {
                return Err(e);
            }
            Ok(PySimulationReport(r))
        })
    }

    /// kube-proxy's tolerances when it reads this cluster for one IP family (sloppy IPs
    /// accepted, values trimmed, objects skipped), as issues. The ``svccore`` commands print
    /// them on stderr. They are computed once per family: after a render of the family (any
    /// mode) they are at hand.
    ///
    /// >>> import svccore
    /// >>> c = svccore.Cluster.from_yaml('''
    /// ... apiVersion: v1
    /// ... kind: Service
    /// ... metadata: {name: web}
    /// ... spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
    /// ... ''')
    /// >>> c.proxy_warnings()
    /// []
    #[pyo3(signature = (family = "IPv4"))]
    fn proxy_warnings(&self, py: Python<'_>, family: &str) -> PyResult<Vec<PyIssue>> {
        guard(|| {
            let fam = crate::proxy::family(Some(family))?.unwrap_or(IpFamily::IPv4);
            if let Some(w) = self.3.get(fam) {
                return Ok(w.iter().map(PyIssue::from).collect());
            }
            let w = core(py.detach(|| snapshot_warnings(&self.0, fam)))?;
            let issues = w.iter().map(PyIssue::from).collect();
            self.3.set(fam, w);
            Ok(issues)
        })
    }

    /// The rules kube-proxy's iptables mode writes on ``node``: ``form="restore"`` (the
    /// ``iptables-restore --noflush`` payload of a full sync), ``"save"`` (what
    /// ``iptables-save`` prints on the node) or ``"jumps"`` (the jump rules and canaries).
    ///
    /// Settings are layered as kube-proxy reads them: the defaults; the KubeProxyConfiguration
    /// (``config``, a :class:`ProxyConfig`, else the one among the cluster's objects); then
    /// ``proxier_settings`` (a :class:`ProxierSettings`, a dict of its JSON fields, JSON text as
    /// ``str``, or a file as ``os.PathLike`` such as ``pathlib.Path``), of which only the fields
    /// given count; then the keyword flags, each overriding when not ``None``: ``node``
    /// (``--hostname-override``), ``family`` (``"IPv4"``/``"IPv6"``; default: the settings',
    /// else IPv4) and the proxier flags: ``cluster_cidr``, ``masquerade_all``,
    /// ``masquerade_bit`` (``--iptables-masquerade-bit``), ``masquerade_mark`` (the mark text
    /// itself), ``localhost_nodeports``, ``nodeport_addresses`` (CIDRs or ``"primary"``),
    /// ``nfacct_counters``, ``random_fully`` and ``conntrack_tcp_be_liberal``. A flag of another
    /// mode (``ipvs_scheduler``) raises ``InvalidArgumentError``. Node IPs come from the Node
    /// object: without ``node`` (and no ``hostnameOverride``), the first Node object's; a
    /// ``node`` no Node object has raises ``UnknownNodeError`` when the cluster has Node objects,
    /// unless ``allow_unknown_node=True`` (see :meth:`node_notes`). ``strict=True`` refuses what
    /// kube-proxy tolerates and :meth:`proxy_warnings` lists (``ValidationError``, every path);
    /// both keywords work the same in every render method, :meth:`trace` and :meth:`audit`.
    /// ``out`` (every render method takes it): a binary file (``sys.stdout.buffer``, a file
    /// opened with ``"wb"``) the text is written to in UTF-8 instead of being returned (the
    /// method then returns ``None``); a large text then never becomes a Python ``str``.
    ///
    /// ``mode="userspace"`` renders kube-proxy's userspace mode instead (Kubernetes 1.25 and
    /// earlier): the portal rules that send service traffic to the proxy's own ports, in the
    /// same three forms; its flags are ``proxy_port_range`` (``--proxy-port-range``) and
    /// ``bind_address`` (``--bind-address``), and the settings' ``userspace`` object takes
    /// ``proxyPorts`` (a node's ports by service port name).
    ///
    /// >>> import svccore
    /// >>> c = svccore.Cluster.from_yaml('''
    /// ... apiVersion: v1
    /// ... kind: Service
    /// ... metadata: {name: web, namespace: shop}
    /// ... spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
    /// ... ''')
    /// >>> rules = c.render_iptables(node='node-a', cluster_cidr='10.244.0.0/16')
    /// >>> [l for l in rules.splitlines() if 'shop/web' in l]
    /// ['-A KUBE-SERVICES -m comment --comment "shop/web has no endpoints" -m tcp -p tcp -d 10.96.0.10 --dport 80 -j REJECT']
    /// >>> portals = c.render_iptables(mode='userspace', node='node-a', allow_unknown_node=True,
    /// ...     proxier_settings={'nodeIPs': ['192.168.0.10']}, proxy_port_range='36000-36099')
    /// >>> [l for l in portals.splitlines() if l.startswith('-A KUBE-PORTALS-CONTAINER')]
    /// ['-A KUBE-PORTALS-CONTAINER -m comment --comment "shop/web" -p tcp -m tcp --dport 80 -d 10.96.0.10/32 -j REDIRECT --to-ports 36000']
    #[pyo3(signature = (*, node = None, form = "restore", mode = "iptables", config = None, proxier_settings = None, family = None, out = None, **flags))]
    #[allow(clippy::too_many_arguments)]
    fn render_iptables(
        &self,
        py: Python<'_>,
        node: Option<String>,
        form: &str,
        mode: &str,
        config: Option<PyRef<'_, PyProxyConfig>>,
        proxier_settings: Option<&Bound<'_, PyAny>>,
        family: Option<&str>,
        out: Option<&Bound<'_, PyAny>>,
        flags: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        guard(|| {
            use svccore::render::iptables::Form;
            use svccore::render::{iptables_text, iptables_write, IPTABLES_MODES};
            let form = Form::parse(form).ok_or_else(|| {
                bad(format!(
                    "unknown iptables form {form:?}: expected restore, save or jumps"
                ))
            })?;
            let mode = core(ProxyMode::parse_among(mode, &IPTABLES_MODES))?;
            let f = settings_flags("render_iptables", flags, node, fam(family)?)?;
            let s = proxier_settings_of(&self.0, mode, config.as_deref(), proxier_settings, &f)?;
            let Some(out) = out else {
                let rendered = core(py.detach(|| iptables_text(mode, &self.0, &s, form)))?;
                return text_or_write(py, &self.3.keep(rendered), None);
            };
            // The restore payload goes to `out` as it is made, never held whole.
            let mut w = PyWriter::new(out);
            let written =
                core(py.detach(|| {
                    iptables_write(mode, &self.0, &s, form, &mut |piece| w.write(piece))
                }))?;
            w.failed?;
            self.3.set(written.family, written.warnings);
            Ok(py.None())
        })
    }

    /// The settings the ``mode`` kube-proxy on ``node`` runs with, layered as for
    /// :meth:`render_iptables` (same arguments; a flag of another mode raises
    /// ``InvalidArgumentError``) and filled from the Node object: the ``proxy.json`` fields plus
    /// ``localDetector``, ``ipvsScheduler``, ``nodeLabels`` and ``podCIDRs``.
    ///
    /// >>> import svccore
    /// >>> c = svccore.Cluster.from_yaml('''
    /// ... apiVersion: v1
    /// ... kind: Node
    /// ... metadata: {name: node-a}
    /// ... status: {addresses: [{type: InternalIP, address: 192.168.0.10}]}
    /// ... ''')
    /// >>> s = c.settings(node='node-a', mode='ipvs', ipvs_scheduler='mh', cluster_cidr='10.244.0.0/16')
    /// >>> s['nodeIPs'], s['ipvsScheduler'], s['localDetector']
    /// (['192.168.0.10'], 'mh', {'mode': 'Cidr', 'value': '10.244.0.0/16'})
    #[pyo3(signature = (*, node = None, mode = "iptables", config = None, proxier_settings = None, family = None, **flags))]
    #[allow(clippy::too_many_arguments)]
    fn settings<'py>(
        &self,
        py: Python<'py>,
        node: Option<String>,
        mode: &str,
        config: Option<PyRef<'_, PyProxyConfig>>,
        proxier_settings: Option<&Bound<'_, PyAny>>,
        family: Option<&str>,
        flags: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let mode = core(ProxyMode::parse_among(mode, &ProxyMode::ALL))?;
            let f = settings_flags("settings", flags, node, fam(family)?)?;
            let s = proxier_settings_of(&self.0, mode, config.as_deref(), proxier_settings, &f)?;
            to_py(py, &s.describe())
        })
    }

    /// The settings of ``mode`` that change its rules and that neither the configuration,
    /// ``proxier_settings`` nor the flags gave (arguments as for :meth:`settings`): what a render
    /// or audit took from kube-proxy's defaults. Dicts with ``flag`` (the command-line flag that
    /// sets it), ``value`` (the one assumed) and ``meaning``. On a node where one does not hold
    /// (an iptables without ``--random-fully``), an audit shows drift.
    ///
    /// >>> import svccore
    /// >>> c = svccore.Cluster.from_yaml('')
    /// >>> [a['flag'] for a in c.assumed_defaults(mode='nftables', cluster_cidr='10.0.0.0/8')]
    /// ['--masquerade-all', '--iptables-masquerade-bit', '--nodeport-addresses']
    /// >>> '--random-fully' in [a['flag'] for a in c.assumed_defaults(random_fully=False)]
    /// False
    #[pyo3(signature = (*, mode = "iptables", config = None, proxier_settings = None, **flags))]
    fn assumed_defaults<'py>(
        &self,
        py: Python<'py>,
        mode: &str,
        config: Option<PyRef<'_, PyProxyConfig>>,
        proxier_settings: Option<&Bound<'_, PyAny>>,
        flags: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let mode = core(ProxyMode::parse_among(mode, &ProxyMode::ALL))?;
            let f = settings_flags("assumed_defaults", flags, None, None)?;
            let a = crate::proxy::assumed_defaults(
                &self.0,
                mode,
                config.as_deref(),
                proxier_settings,
                &f,
            )?;
            crate::convert::record_to_py(py, &a)
        })
    }

    /// What to know about the node the ``mode`` kube-proxy runs as, with the arguments of
    /// :meth:`settings` (the ``svccore`` commands print these on stderr): which node is used and
    /// why when ``node`` is not given (the KubeProxyConfiguration's ``hostnameOverride``, the
    /// first Node object, ...), an unknown node allowed with ``allow_unknown_node=True``, and,
    /// when the cluster has no Node objects, which facts are then unknown and what the mode
    /// lacks. Raises ``UnknownNodeError`` as the render methods do.
    ///
    /// >>> import svccore
    /// >>> c = svccore.Cluster.from_yaml('''
    /// ... apiVersion: v1
    /// ... kind: Node
    /// ... metadata: {name: node1}
    /// ... ''')
    /// >>> c.node_notes()
    /// ['node node1 (the first Node object; --node chooses another)']
    /// >>> svccore.Cluster.from_yaml('kind: List\napiVersion: v1\nitems: []').node_notes(node='n1', mode='ipvs')
    /// ['no Node objects: the IPs and labels of node n1 are unknown, so no NodePort addresses, no node IP for load-balancer source ranges, no zone for topology hints']
    #[pyo3(signature = (*, node = None, mode = "iptables", config = None, proxier_settings = None, family = None, **flags))]
    #[allow(clippy::too_many_arguments)]
    fn node_notes(
        &self,
        node: Option<String>,
        mode: &str,
        config: Option<PyRef<'_, PyProxyConfig>>,
        proxier_settings: Option<&Bound<'_, PyAny>>,
        family: Option<&str>,
        flags: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Vec<String>> {
        guard(|| {
            let mode = core(ProxyMode::parse_among(mode, &ProxyMode::ALL))?;
            let f = settings_flags("node_notes", flags, node, fam(family)?)?;
            let s = proxier_settings_of(&self.0, mode, config.as_deref(), proxier_settings, &f)?;
            Ok(s.node_notes(&self.0, mode))
        })
    }

    /// The table kube-proxy's nftables mode programs on ``node`` (``ip kube-proxy``, or
    /// ``ip6 kube-proxy`` for ``family="IPv6"``), as ``add`` lines: ``form="dump"`` (knftables'
    /// ``Fake.Dump()``, the text kube-proxy's unit tests compare: objects sorted by name) or
    /// ``"load"`` (the same objects in an order ``nft -f`` accepts: table, chains, sets, maps,
    /// rules, elements) or ``"list"`` (what ``nft list table ip kube-proxy`` prints once the
    /// load form is loaded, as nftables 1.0.6 prints it).
    ///
    /// Settings are layered as in :meth:`render_iptables` (defaults, ``config``,
    /// ``proxier_settings``, then the keyword flags): ``node``, ``cluster_cidr``,
    /// ``masquerade_all``, ``masquerade_bit``, ``masquerade_mark``, ``nodeport_addresses``,
    /// ``service_cidrs`` (the ServiceCIDRs whose unallocated addresses are dropped) and
    /// ``family``. The nftables proxier has no localhost NodePorts, nfacct counters,
    /// ``--random-fully`` choice (it always masquerades ``fully-random``), conntrack liberal
    /// mode or large-cluster mode, so those keywords of :meth:`render_iptables` are not taken.
    /// ``out`` writes the text to a binary file instead, as in :meth:`render_iptables`.
    ///
    /// >>> import svccore
    /// >>> c = svccore.Cluster.from_yaml('''
    /// ... apiVersion: v1
    /// ... kind: Service
    /// ... metadata: {name: web, namespace: shop}
    /// ... spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
    /// ... ''')
    /// >>> table = c.render_nftables(node='node-a', service_cidrs=['10.96.0.0/16'])
    /// >>> [l for l in table.splitlines() if 'shop/web' in l or 'unallocated' in l]
    /// ['add rule ip kube-proxy cluster-ips-check ip daddr { 10.96.0.0/16 } drop comment "Drop traffic to unallocated ClusterIPs"', 'add element ip kube-proxy no-endpoint-services { 10.96.0.10 . tcp . 80 comment "shop/web" : goto reject-chain }']
    #[pyo3(signature = (*, node = None, form = "dump", config = None, proxier_settings = None, family = None, out = None, **flags))]
    #[allow(clippy::too_many_arguments)]
    fn render_nftables(
        &self,
        py: Python<'_>,
        node: Option<String>,
        form: &str,
        config: Option<PyRef<'_, PyProxyConfig>>,
        proxier_settings: Option<&Bound<'_, PyAny>>,
        family: Option<&str>,
        out: Option<&Bound<'_, PyAny>>,
        flags: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        guard(|| {
            use svccore::render::nftables::{parse_form, render_with_warnings};
            let form = core(parse_form(form))?;
            let f = settings_flags("render_nftables", flags, node, fam(family)?)?;
            let s = proxier_settings_of(
                &self.0,
                ProxyMode::Nftables,
                config.as_deref(),
                proxier_settings,
                &f,
            )?;
            let rendered = core(py.detach(|| render_with_warnings(&self.0, &s, form)))?;
            text_or_write(py, &self.3.keep(rendered), out)
        })
    }

    /// The ServiceCIDRs :meth:`render_nftables` drops unallocated addresses in, and where they
    /// come from: the cluster's ``ServiceCIDR`` objects when it has any, else ``service_cidrs``
    /// or the ``serviceCIDRs`` of ``proxier_settings``. Returns ``(source, cidrs, message)``:
    /// ``source`` is ``"objects"``, ``"settings"`` or ``"none"``; ``message`` says it in one line.
    ///
    /// >>> import svccore
    /// >>> c = svccore.Cluster.from_yaml('''
    /// ... apiVersion: networking.k8s.io/v1
    /// ... kind: ServiceCIDR
    /// ... metadata: {name: kubernetes}
    /// ... spec: {cidrs: [10.96.0.0/12]}
    /// ... ''')
    /// >>> c.nftables_service_cidrs(service_cidrs=['172.30.0.0/16'])[:2]
    /// ('objects', ['10.96.0.0/12'])
    #[pyo3(signature = (*, proxier_settings = None, service_cidrs = None))]
    fn nftables_service_cidrs(
        &self,
        proxier_settings: Option<&Bound<'_, PyAny>>,
        service_cidrs: Option<Vec<String>>,
    ) -> PyResult<(String, Vec<String>, String)> {
        guard(|| {
            use svccore::proxier::service_cidrs::{choose_service_cidrs, ServiceCidrSource};
            let flags = svccore::proxier::config::SettingsFlags {
                service_cidrs,
                ..Default::default()
            };
            let s =
                proxier_settings_of(&self.0, ProxyMode::Nftables, None, proxier_settings, &flags)?;
            let choice = core(choose_service_cidrs(&self.0, &s))?;
            let source = match choice.source {
                ServiceCidrSource::Objects(_) => "objects",
                ServiceCidrSource::Settings => "settings",
                ServiceCidrSource::None => "none",
            };
            Ok((
                source.to_owned(),
                choice.cidrs.iter().map(|c| c.to_string()).collect(),
                choice.source.describe(&choice.cidrs),
            ))
        })
    }

    /// What kube-proxy's ipvs mode programs on ``node``, as the text of the tool an operator
    /// runs there: ``form="list"`` (``ipvsadm -Ln``), ``"stats"``, ``"rate"`` (its
    /// ``--stats``/``--rate`` variants, counters 0), ``"save"`` (``ipvsadm -S -n``),
    /// ``"ipset"`` (``ipset save``), ``"iptables"`` (the ipvs-mode ``iptables-restore``
    /// payload) or ``"addresses"`` (``ip addr show kube-ipvs0``). The KubeProxyConfiguration
    /// (``config``, else the cluster's) gives the scheduler and flags; the keyword flags
    /// ``ipvs_scheduler``, ``nodeport_addresses``, ``masquerade_all``, ``masquerade_bit`` and
    /// ``cluster_cidr`` override it (an iptables-only flag raises ``InvalidArgumentError``).
    /// ``node=None`` uses its ``hostnameOverride``.
    /// ``out`` writes the text to a binary file instead, as in :meth:`render_iptables`.
    ///
    /// >>> import svccore
    /// >>> c = svccore.Cluster.from_yaml('''
    /// ... apiVersion: v1
    /// ... kind: Service
    /// ... metadata: {name: web, namespace: shop}
    /// ... spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
    /// ... ''')
    /// >>> print(c.render_ipvs(node='node-a', form='save', ipvs_scheduler='wrr'), end='')
    /// -A -t 10.96.0.10:80 -s wrr
    #[pyo3(signature = (*, node = None, form = "list", config = None, family = "IPv4", out = None, **flags))]
    #[allow(clippy::too_many_arguments)]
    fn render_ipvs(
        &self,
        py: Python<'_>,
        node: Option<String>,
        form: &str,
        config: Option<PyRef<'_, PyProxyConfig>>,
        family: &str,
        out: Option<&Bound<'_, PyAny>>,
        flags: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        guard(|| {
            use svccore::render::ipvs::{parse_form, render_with_warnings};
            let form = core(parse_form(form))?;
            let f = settings_flags("render_ipvs", flags, node, fam(Some(family))?)?;
            let s = proxier_settings_of(&self.0, ProxyMode::Ipvs, config.as_deref(), None, &f)?;
            let rendered = core(py.detach(|| render_with_warnings(&self.0, &s, form)))?;
            text_or_write(py, &self.3.keep(rendered), out)
        })
    }

    /// Traces the first packet of a connection from ``src`` (an IP) to ``dst`` (``"ip:port"``,
    /// ``"[ip]:port"`` for IPv6) over ``proto`` (``tcp``, ``udp``, ``sctp``) on ``node``.
    /// ``source`` is where it comes from: ``"pod"`` (a pod on the node), ``"node"`` (the node
    /// itself, host network: the OUTPUT path), ``"other-node"`` or ``"external"``.
    ///
    /// ``mode="iptables"`` renders the node's rules (settings as in :meth:`render_iptables`,
    /// same keyword arguments) and evaluates them; ``mode="nftables"`` walks the table
    /// :meth:`render_nftables` gives through its base chains by hook and priority (settings as
    /// there); ``mode="ipvs"`` looks up the virtual server
    /// and lets its scheduler pick (settings as in :meth:`render_ipvs`: ``ipvs_scheduler``,
    /// ``nodeport_addresses``, ``masquerade_all``, ``masquerade_bit``, ``cluster_cidr``).
    /// Arguments of the other mode raise ``InvalidArgumentError``. The family is the packet's.
    /// ``recent`` names the ClientIP affinity state the client has a live entry in: iptables
    /// ``recent`` lists (``KUBE-SEP-…``) or nftables affinity sets (``affinity-…``).
    ///
    /// >>> import svccore
    /// >>> c = svccore.Cluster.from_yaml('''
    /// ... apiVersion: v1
    /// ... kind: Service
    /// ... metadata: {name: web, namespace: shop}
    /// ... spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
    /// ... ---
    /// ... apiVersion: discovery.k8s.io/v1
    /// ... kind: EndpointSlice
    /// ... metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
    /// ... addressType: IPv4
    /// ... ports: [{name: "", port: 8080}]
    /// ... endpoints: [{addresses: [10.1.0.1]}, {addresses: [10.1.0.2]}]
    /// ... ''')
    /// >>> t = c.trace(node='node-a', src='10.1.0.9', dst='10.96.0.10:80')
    /// >>> t.endpoints()
    /// {'10.1.0.1:8080': 0.5, '10.1.0.2:8080': 0.5}
    /// >>> t = c.trace(node='node-a', src='10.1.0.9', dst='10.96.0.10:80', mode='ipvs')
    /// >>> [(o.endpoint, o.decimal) for o in t.outcomes], t.virtual_server['scheduler']
    /// ([('10.1.0.2:8080', 1.0)], 'rr')
    /// >>> t = c.trace(node='node-a', src='10.1.0.9', dst='10.96.0.10:80', mode='nftables')
    /// >>> [(o.endpoint, str(o.probability)) for o in t.outcomes]
    /// [('10.1.0.1:8080', '1/2'), ('10.1.0.2:8080', '1/2')]
    #[pyo3(signature = (*, node, src, dst, proto = "tcp", source = "pod", mode = "iptables", recent = None, config = None, proxier_settings = None, **flags))]
    #[allow(clippy::too_many_arguments)]
    fn trace(
        &self,
        py: Python<'_>,
        node: String,
        src: &str,
        dst: &str,
        proto: &str,
        source: &str,
        mode: &str,
        recent: Option<Vec<String>>,
        config: Option<PyRef<'_, PyProxyConfig>>,
        proxier_settings: Option<&Bound<'_, PyAny>>,
        flags: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyTraceResult> {
        guard(|| {
            let args = PacketArgs {
                src,
                dst,
                port: None,
                proto,
                from: source,
            };
            let mut p = core(parse_packet(&args))?;
            p.recent = recent.unwrap_or_default();
            let mode = core(ProxyMode::parse_among(mode, &TRACE_MODES))?;
            let f = settings_flags("trace", flags, Some(node), Some(proxier_family(&p)))?;
            let s = proxier_settings_of(&self.0, mode, config.as_deref(), proxier_settings, &f)?;
            let tracer = self.1.get(py, &self.0, mode, &s)?;
            let t = core(py.detach(|| tracer.trace(&p)))?;
            Ok(PyTraceResult::new(t, mode.as_str()))
        })
    }

    /// Traces many packets on ``node``, in order: one :class:`TraceResult` per packet, each
    /// what :meth:`trace` gives for it. ``packets`` are dicts with :meth:`trace`'s packet
    /// arguments: ``src`` and ``dst`` (required), ``proto`` (``"tcp"``), ``source`` (or
    /// ``from``; ``"pod"``) and ``recent`` (a list of names); ``mode``, ``node`` and the
    /// settings keywords are :meth:`trace`'s and hold for every packet. Packets may mix IP
    /// families (each is traced on its destination's family).
    ///
    /// The node's rules are rendered and read once per mode, family and settings, and kept
    /// with the cluster: later calls of :meth:`trace` and :meth:`trace_many` on the same node
    /// and settings walk the rules without rendering them again. A bad packet raises
    /// ``InvalidArgumentError`` naming its index (``packets[3]: …``); nothing is traced then.
    ///
    /// >>> import svccore
    /// >>> c = svccore.Cluster.from_yaml('''
    /// ... apiVersion: v1
    /// ... kind: Service
    /// ... metadata: {name: web, namespace: shop}
    /// ... spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
    /// ... ---
    /// ... apiVersion: discovery.k8s.io/v1
    /// ... kind: EndpointSlice
    /// ... metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
    /// ... addressType: IPv4
    /// ... ports: [{name: "", port: 8080}]
    /// ... endpoints: [{addresses: [10.1.0.1]}]
    /// ... ''')
    /// >>> ts = c.trace_many([{'src': '10.1.0.9', 'dst': '10.96.0.10:80'},
    /// ...                    {'src': '203.0.113.9', 'dst': '10.96.0.10:81', 'source': 'external'}],
    /// ...                   node='node-a')
    /// >>> [t.endpoints() for t in ts]
    /// [{'10.1.0.1:8080': 1.0}, {}]
    /// >>> c.trace_many([{'src': '10.1.0.9'}], node='node-a')
    /// Traceback (most recent call last):
    /// ...
    /// svccore.InvalidArgumentError: packets[0]: no "dst"
    #[pyo3(signature = (packets, *, node, mode = "iptables", config = None, proxier_settings = None, **flags))]
    #[allow(clippy::too_many_arguments)]
    fn trace_many(
        &self,
        py: Python<'_>,
        packets: Vec<Bound<'_, PyAny>>,
        node: String,
        mode: &str,
        config: Option<PyRef<'_, PyProxyConfig>>,
        proxier_settings: Option<&Bound<'_, PyAny>>,
        flags: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Vec<PyTraceResult>> {
        guard(|| {
            let mode = core(ProxyMode::parse_among(mode, &TRACE_MODES))?;
            let parsed = packets
                .iter()
                .enumerate()
                .map(|(i, p)| packet_of_dict(i, p))
                .collect::<PyResult<Vec<_>>>()?;
            // One tracer per family the packets have (settings differ only by family).
            let mut tracers = Vec::with_capacity(2);
            for family in [IpFamily::IPv4, IpFamily::IPv6] {
                if !parsed.iter().any(|p| proxier_family(p) == family) {
                    continue;
                }
                let f = settings_flags("trace_many", flags, Some(node.clone()), Some(family))?;
                let s =
                    proxier_settings_of(&self.0, mode, config.as_deref(), proxier_settings, &f)?;
                tracers.push((family, self.1.get(py, &self.0, mode, &s)?));
            }
            let results = core(py.detach(|| {
                parsed
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let (_, t) = tracers
                            .iter()
                            .find(|(f, _)| *f == proxier_family(p))
                            .expect("a tracer for every family of the packets");
                        t.trace(p).map_err(|e| match e {
                            Error::InvalidArgument(m) => {
                                Error::InvalidArgument(format!("packets[{i}]: {m}"))
                            }
                            e => e,
                        })
                    })
                    .collect::<svccore::Result<Vec<_>>>()
            }))?;
            Ok(results
                .into_iter()
                .map(|t| PyTraceResult::new(t, mode.as_str()))
                .collect())
        })
    }

    /// ``(built, reused)``: how many times this cluster's tracers were built (a render of a
    /// node's rules) and reused by :meth:`trace` and :meth:`trace_many`. For tests and
    /// profiling.
    fn _tracer_cache_counts(&self) -> (u64, u64) {
        self.1.counts()
    }

    /// Audits a node's ``iptables-save`` output (``actual``) against the rules kube-proxy
    /// should have written on ``node`` (settings as in :meth:`render_iptables`, same keyword
    /// arguments). Only kube-proxy's rules are compared, in ``iptables-save``'s canonical form;
    /// order counts only where it changes behaviour. Raises ``DumpError`` when ``actual``
    /// cannot be parsed, naming ``file`` (the text's name), the line and what it says.
    ///
    /// ``actual`` may be ``iptables-save`` output of either backend, with or without ``-c``,
    /// or one table's ``iptables -S`` (``-v`` too): ``table`` (``"filter"`` / ``"nat"``) names
    /// that table, else its ``-P`` lines and kube-proxy's chains tell it; only that table is
    /// compared then (with ``iptables-save`` output, ``table`` compares that one table alone).
    /// ``iptables -L`` listings raise ``DumpError`` naming ``iptables-save``. The report's
    /// ``notes`` say what was read and the signs of an older kube-proxy.
    ///
    /// ``mode="nftables"`` audits the node's ``nft list table ip kube-proxy`` (``ip6``), or
    /// ``nft list ruleset`` with other tables ignored, in nftables 1.0.6's listing syntax,
    /// against the table of :meth:`render_nftables` (same keyword arguments): the chains with
    /// their rules in order, the sets and maps with their elements, the base chains' hooks and
    /// priorities. nft's re-serialization, element order, counter values and the learned
    /// entries of affinity sets do not count. Findings are the ``add …`` commands that create
    /// the objects, grouped by service port. ``mode="userspace"`` audits the node's
    /// ``iptables-save`` against the portal rules of ``render_iptables(mode="userspace")``;
    /// when the node's proxy ports differ from svccore's, a note gives them as the settings'
    /// ``userspace.proxyPorts``.
    ///
    /// >>> import svccore
    /// >>> c = svccore.Cluster.from_yaml('')
    /// >>> print(c.audit(c.render_iptables(form='save'), node=''), end='')
    /// audit of node "" (IPv4): ...
    /// no drift
    /// >>> listed = c.render_nftables(node='n', form='list')
    /// >>> c.audit(listed.replace('fully-random', ''), node='n', mode='nftables').changed
    /// {'(node)': [('add rule ip kube-proxy masquerading masquerade fully-random', 'add rule ip kube-proxy masquerading masquerade')]}
    /// >>> c.audit('-N KUBE-SERVICES\n', node='n', table='nat').notes[0][:36]
    /// 'read as `iptables -t nat -S` output:'
    #[pyo3(signature = (actual, *, node, mode = "iptables", file = None, table = None, config = None, proxier_settings = None, family = None, **flags))]
    #[allow(clippy::too_many_arguments)]
    fn audit(
        &self,
        py: Python<'_>,
        actual: &str,
        node: String,
        mode: &str,
        file: Option<&str>,
        table: Option<&str>,
        config: Option<PyRef<'_, PyProxyConfig>>,
        proxier_settings: Option<&Bound<'_, PyAny>>,
        family: Option<&str>,
        flags: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyAuditReport> {
        guard(|| {
            let mode = core(ProxyMode::parse_among(
                mode,
                &[
                    ProxyMode::Iptables,
                    ProxyMode::Nftables,
                    ProxyMode::Userspace,
                ],
            ))?;
            if mode == ProxyMode::Nftables && table.is_some() {
                return core(Err(svccore::Error::InvalidArgument(
                    "table= applies to iptables mode: nftables mode reads the kube-proxy table"
                        .into(),
                )));
            }
            let f = settings_flags("audit", flags, Some(node), fam(family)?)?;
            let s = proxier_settings_of(&self.0, mode, config.as_deref(), proxier_settings, &f)?;
            let r = core(py.detach(|| match mode {
                ProxyMode::Nftables => svccore::audit::nftables::audit(
                    &self.0,
                    &s,
                    actual,
                    Some(file.unwrap_or("nft list")),
                ),
                ProxyMode::Userspace => svccore::audit::userspace::audit(
                    &self.0,
                    &s,
                    actual,
                    svccore::audit::ActualDump {
                        file: Some(file.unwrap_or("iptables-save")),
                        table,
                    },
                ),
                _ => svccore::audit::audit_with(
                    &self.0,
                    &s,
                    actual,
                    svccore::audit::ActualDump {
                        file: Some(file.unwrap_or("iptables-save")),
                        table,
                    },
                ),
            }))?;
            Ok(PyAuditReport(r))
        })
    }

    fn __repr__(&self) -> String {
        format!("<Cluster: {}>", Summary::of(&self.0))
    }

    /// Pickling (``pickle``, ``copy``, ``multiprocessing``, Dask, Ray): a cluster pickles as
    /// the inputs it was loaded from, and unpickling loads them again, so the copy has the
    /// same objects, allocations and warnings. Tracers are not pickled; the copy builds its own.
    ///
    /// >>> import pickle, svccore
    /// >>> c = svccore.Cluster.from_yaml('apiVersion: v1\nkind: Node\nmetadata: {name: a}\n')
    /// >>> pickle.loads(pickle.dumps(c)).nodes
    /// ['a']
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, (PickleState,))> {
        let o = &self.2;
        let inputs = o
            .inputs
            .iter()
            .map(|i| {
                let text = core(i.text.as_str(py, i.file.as_deref()))?;
                Ok((i.file.clone(), text.to_owned(), i.objects))
            })
            .collect::<PyResult<_>>()?;
        let unpickle = py.get_type::<PyCluster>().getattr("_unpickle")?;
        Ok((unpickle, ((PICKLE_VERSION, o.node_port_range, inputs),)))
    }

    /// Rebuilds a pickled cluster (see ``__reduce__``).
    #[staticmethod]
    fn _unpickle(py: Python<'_>, state: PickleState) -> PyResult<Self> {
        guard(|| {
            let (version, node_port_range, inputs) = state;
            if version != PICKLE_VERSION {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "a Cluster pickled in format {version}; this svccore reads format {PICKLE_VERSION}"
                )));
            }
            let inputs = inputs
                .into_iter()
                .map(|(file, text, objects)| Input {
                    file,
                    text: Text::Owned(text),
                    objects,
                })
                .collect();
            load_origin(
                py,
                Origin {
                    node_port_range,
                    inputs,
                },
            )
        })
    }
}

/// One packet of `Cluster.trace_many`: a dict of `trace`'s packet arguments.
fn packet_of_dict(i: usize, obj: &Bound<'_, PyAny>) -> PyResult<svccore::trace::Packet> {
    let at = |m: String| bad(format!("packets[{i}]: {m}"));
    let d = obj.cast::<PyDict>().map_err(|_| {
        at(format!(
            "expected a dict with src, dst, proto, source, recent, not {}",
            obj.get_type()
                .name()
                .map_or_else(|_| "?".into(), |n| n.to_string())
        ))
    })?;
    let (mut src, mut dst, mut proto, mut from) = (None, None, None, None);
    let mut recent = Vec::new();
    for (k, v) in d.iter() {
        let key: String = k.extract().map_err(|_| at("keys must be strings".into()))?;
        let text = |v: &Bound<'_, PyAny>| -> PyResult<String> {
            v.extract()
                .map_err(|_| at(format!("{key:?} must be a string")))
        };
        match key.as_str() {
            "src" => src = Some(text(&v)?),
            "dst" => dst = Some(text(&v)?),
            "proto" => proto = Some(text(&v)?),
            "source" | "from" if from.is_some() => {
                return Err(at("give one of \"source\" and \"from\"".into()))
            }
            "source" | "from" => from = Some(text(&v)?),
            "recent" => {
                recent = v
                    .extract()
                    .map_err(|_| at("\"recent\" must be a list of strings".into()))?
            }
            _ => {
                return Err(at(format!(
                    "unknown key {key:?} (expected src, dst, proto, source, from, recent)"
                )))
            }
        }
    }
    let need = |v: Option<String>, name: &str| v.ok_or_else(|| at(format!("no {name:?}")));
    let (src, dst) = (need(src, "src")?, need(dst, "dst")?);
    let args = PacketArgs {
        src: &src,
        dst: &dst,
        port: None,
        proto: proto.as_deref().unwrap_or("tcp"),
        from: from.as_deref().unwrap_or("pod"),
    };
    let mut p = parse_packet(&args).map_err(|e| at(e.to_string()))?;
    p.recent = recent;
    Ok(p)
}
