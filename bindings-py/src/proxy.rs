//! What kube-proxy writes on a node and what it does with a packet: `svccore.ProxierSettings`,
//! `svccore.TraceResult`, `svccore.TraceOutcome`, `svccore.AuditReport`, and the argument
//! conversions behind `Cluster.render_iptables`, `render_ipvs`, `trace` and `audit`.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyAny, PyDict, PyString};
use serde_json::Value;
use svccore::audit::{self, AuditReport};
use svccore::model::IpFamily;
use svccore::proxier::config::{parse_family, ProxierSettings, ProxyMode, SettingsFlags};
use svccore::trace::{self, Outcome, TraceResult, Verdict};
use svccore::{Cluster, Error, Issue};

use crate::config::PyProxyConfig;
use crate::convert::{from_py, record_to_py};
use crate::errors::{core, guard};

pub(crate) fn bad(msg: impl Into<String>) -> PyErr {
    crate::errors::to_py_err(Error::InvalidArgument(msg.into()))
}

pub(crate) fn family(s: Option<&str>) -> PyResult<Option<IpFamily>> {
    core(s.map(parse_family).transpose())
}

/// A `proxier_settings` argument: a `ProxierSettings`, a dict of proxy.json fields, JSON text,
/// or an `os.PathLike` naming a JSON file. Returns the fields given and the file name.
fn settings_fields(obj: &Bound<'_, PyAny>) -> PyResult<(Value, Option<String>)> {
    if let Ok(s) = obj.cast::<PyProxierSettings>() {
        let s = s.get();
        return Ok((s.fields.clone(), s.file.clone()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        let v = core(ProxierSettings::parse_json_object(&s.to_cow()?, None))?;
        return Ok((v, None));
    }
    if obj.cast::<PyDict>().is_ok() {
        let v = core(from_py(obj, Some("proxier_settings")))?;
        return Ok((v, None));
    }
    if obj.hasattr("__fspath__")? {
        let path: std::path::PathBuf = obj.extract()?;
        let name = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| {
            pyo3::exceptions::PyOSError::new_err((
                e.raw_os_error().unwrap_or(0),
                e.to_string(),
                name.clone(),
            ))
        })?;
        let v = core(ProxierSettings::parse_json_object(&text, Some(&name)))?;
        return Ok((v, Some(name)));
    }
    Err(bad(format!(
        "proxier_settings must be a ProxierSettings, a dict, JSON text or a path (os.PathLike), got {}",
        obj.get_type().name()?
    )))
}

/// The `**flags` keyword arguments of `render_iptables`, `render_ipvs`, `trace` and `audit`
/// as the core's one flags type; `node` and `family` are the methods' own arguments. An unknown
/// keyword is a `TypeError`, as for any Python function.
pub(crate) fn settings_flags(
    method: &str,
    flags: Option<&Bound<'_, PyDict>>,
    node: Option<String>,
    family: Option<IpFamily>,
) -> PyResult<SettingsFlags> {
    let mut given = serde_json::Map::new();
    for (k, v) in flags.into_iter().flat_map(|d| d.iter()) {
        let k: String = k.extract()?;
        if matches!(k.as_str(), "node" | "family") || !SettingsFlags::NAMES.contains(&k.as_str()) {
            return Err(PyTypeError::new_err(format!(
                "{method}() got an unexpected keyword argument '{k}'"
            )));
        }
        given.insert(k, core(from_py(&v, None))?);
    }
    let mut f = core(SettingsFlags::from_json(&Value::Object(given)))?;
    f.node_name = node;
    f.ip_family = family;
    Ok(f)
}

/// The resolved settings of one proxier in `mode`: the flags checked against the mode, then
/// defaults → configuration (`config`, else the cluster's) → settings object → flags, filled
/// from the Node object.
pub(crate) fn proxier_settings(
    cluster: &Cluster,
    mode: ProxyMode,
    config: Option<&PyProxyConfig>,
    proxier_settings: Option<&Bound<'_, PyAny>>,
    flags: &SettingsFlags,
) -> PyResult<ProxierSettings> {
    core(flags.check_mode(mode, proxier_settings.is_some()))?;
    let fields = proxier_settings.map(settings_fields).transpose()?;
    let cfg = match config {
        Some(c) => Some(c.inner()),
        None => cluster.proxy_config.as_ref(),
    };
    core(
        ProxierSettings::layered(cfg, fields.as_ref().map(|(v, f)| (v, f.as_deref())), flags)
            .and_then(|s| s.resolve(cluster)),
    )
}

/// The settings of `mode` no layer (configuration, settings object, flags) gave, with the
/// defaults used ([`svccore::proxier::assumed::assumed_defaults`]).
pub(crate) fn assumed_defaults(
    cluster: &Cluster,
    mode: ProxyMode,
    config: Option<&PyProxyConfig>,
    proxier_settings: Option<&Bound<'_, PyAny>>,
    flags: &SettingsFlags,
) -> PyResult<Vec<svccore::proxier::assumed::Assumed>> {
    core(flags.check_mode(mode, proxier_settings.is_some()))?;
    let fields = proxier_settings.map(settings_fields).transpose()?;
    let cfg = match config {
        Some(c) => Some(c.inner()),
        None => cluster.proxy_config.as_ref(),
    };
    Ok(svccore::proxier::assumed::assumed_defaults(
        mode,
        cfg,
        fields.as_ref().map(|(v, _)| v),
        flags,
    ))
}

// ---------------------------------------------------------------------------------- classes

/// kube-proxy's proxier settings in the ``proxy.json`` form of the conformance cases
/// (``--proxier-settings FILE``); ``to_dict()`` of ``from_json('{}')`` lists every field with
/// its default.
///
/// Only the fields given count: passed as ``proxier_settings=`` they override the
/// KubeProxyConfiguration and are overridden by keyword flags. ``to_dict()`` shows every field
/// over the defaults.
///
/// >>> import svccore
/// >>> s = svccore.ProxierSettings.from_json('{"nodeName": "node-a", "randomFully": false}')
/// >>> s.fields
/// ['nodeName', 'randomFully']
/// >>> d = s.to_dict()
/// >>> (d['nodeName'], d['randomFully'], d['masqueradeMark'])
/// ('node-a', False, '0x00004000')
#[pyclass(name = "ProxierSettings", module = "svccore", frozen)]
#[derive(Debug)]
pub struct PyProxierSettings {
    fields: Value,
    file: Option<String>,
    resolved: ProxierSettings,
}

#[pymethods]
impl PyProxierSettings {
    /// Parses the JSON form (a ``--proxier-settings`` file); ``file`` names it in errors.
    /// Raises ``ConfigError`` naming the field for a bad or unknown field.
    ///
    /// >>> import svccore
    /// >>> try:
    /// ...     svccore.ProxierSettings.from_json('{"masqueradeAll": "yes"}', file='p.json')
    /// ... except svccore.ConfigError as e:
    /// ...     print(e)
    /// invalid configuration: p.json: masqueradeAll: must be true or false
    #[staticmethod]
    #[pyo3(signature = (text, *, file = None))]
    fn from_json(text: &str, file: Option<String>) -> PyResult<Self> {
        guard(|| {
            let fields = core(ProxierSettings::parse_json_object(text, file.as_deref()))?;
            let mut resolved = ProxierSettings::default();
            core(resolved.apply_json(&fields, file.as_deref()))?;
            Ok(PyProxierSettings {
                fields,
                file,
                resolved,
            })
        })
    }

    /// Settings from a dict of the JSON form's fields.
    ///
    /// >>> import svccore
    /// >>> svccore.ProxierSettings.from_dict({'ipFamily': 'IPv6'}).to_dict()['ipFamily']
    /// 'IPv6'
    #[staticmethod]
    fn from_dict(fields: &Bound<'_, PyDict>) -> PyResult<Self> {
        guard(|| {
            let v = core(from_py(fields.as_any(), None))?;
            let mut resolved = ProxierSettings::default();
            core(resolved.apply_json(&v, None))?;
            Ok(PyProxierSettings {
                fields: v,
                file: None,
                resolved,
            })
        })
    }

    /// The names of the fields given, in input order.
    #[getter]
    fn fields(&self) -> Vec<String> {
        match &self.fields {
            Value::Object(m) => m.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// The file the settings were read from, if named.
    #[getter]
    fn file(&self) -> Option<&str> {
        self.file.as_deref()
    }

    /// Every field over the defaults, in the JSON form.
    ///
    /// >>> import svccore
    /// >>> svccore.ProxierSettings.from_json('{}').to_dict()['localhostNodePorts']
    /// True
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        record_to_py(py, &self.resolved)
    }

    fn __repr__(&self) -> String {
        format!("<ProxierSettings {}>", self.fields().join(", "))
    }
}

fn fraction<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    let frac = py.import("fractions")?.getattr("Fraction")?;
    let int = py.import("builtins")?.getattr("int")?;
    match text.split_once('/') {
        None => frac.call1((int.call1((text,))?,)),
        Some((n, d)) => {
            let num = int.call1((n,))?;
            let den = match d.strip_prefix("2^") {
                Some(e) => 2u32
                    .into_pyobject(py)?
                    .into_any()
                    .pow(int.call1((e,))?, py.None())?,
                None => int.call1((d,))?,
            };
            frac.call1((num, den))
        }
    }
}

/// One path of a traced packet: what happens (``verdict``: ``"dnat"``, ``"accept"``,
/// ``"drop"`` or ``"reject"``), how likely it is (``probability``, an exact
/// ``fractions.Fraction`` under the kernel's quantisation; ``decimal``; ``nominal``, what
/// kube-proxy meant), whether the source is masqueraded, and the rules that acted (``steps``).
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
/// ... endpoints: [{addresses: [10.1.0.1]}, {addresses: [10.1.0.2]}, {addresses: [10.1.0.3]}]
/// ... ''')
/// >>> t = c.trace(node='node-a', src='10.1.0.9', dst='10.96.0.10:80')
/// >>> o = t.outcomes[0]
/// >>> (o.verdict, o.endpoint, o.probability, round(o.decimal, 9), o.nominal)
/// ('dnat', '10.1.0.1:8080', Fraction(715827883, 2147483648), 0.333333333, Fraction(1, 3))
/// >>> [(s['chain'], s['effect']) for s in o.steps if s['effect'].startswith('DNAT')]
/// [('KUBE-SEP-L6QBKNX5Q46FO7XJ', 'DNAT 10.1.0.1:8080')]
#[pyclass(name = "TraceOutcome", module = "svccore", frozen)]
#[derive(Debug)]
pub struct PyTraceOutcome(Outcome);

#[pymethods]
impl PyTraceOutcome {
    /// ``"dnat"``, ``"accept"``, ``"drop"`` or ``"reject"``.
    #[getter]
    fn verdict(&self) -> &'static str {
        match self.0.verdict {
            Verdict::Dnat { .. } => "dnat",
            Verdict::Accept => "accept",
            Verdict::Drop { .. } => "drop",
            Verdict::Reject { .. } => "reject",
        }
    }
    /// The endpoint (``ip:port``) the packet is DNATed to, else ``None``.
    #[getter]
    fn endpoint(&self) -> Option<&str> {
        match &self.0.verdict {
            Verdict::Dnat { endpoint, .. } => Some(endpoint),
            _ => None,
        }
    }
    /// The ``KUBE-SEP-…`` chain that DNATed (nftables mode: the ``endpoint-…`` chain; ipvs
    /// mode: the virtual server), else ``None``.
    #[getter]
    fn chain(&self) -> Option<&str> {
        match &self.0.verdict {
            Verdict::Dnat { chain, .. } => Some(chain),
            _ => None,
        }
    }
    /// Why the packet is dropped or rejected (the rule's comment), else ``None``.
    #[getter]
    fn reason(&self) -> Option<&str> {
        match &self.0.verdict {
            Verdict::Drop { reason } | Verdict::Reject { reason, .. } => Some(reason),
            _ => None,
        }
    }
    /// For a drop or reject of traffic to a service port, why, from the node's plan:
    /// kube-proxy's reason and the policy behind it (``"ns/svc has no local endpoints:
    /// externalTrafficPolicy is Local and node n has no local endpoint"``), or a source outside
    /// ``loadBalancerSourceRanges``; ``reason`` is then the rule that acted. Else ``None``.
    #[getter]
    fn cause(&self) -> Option<&str> {
        self.0.cause.as_deref()
    }
    /// The exact probability of this path under the kernel's quantisation, a ``Fraction``.
    #[getter]
    fn probability<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        fraction(py, &self.0.probability.fraction)
    }
    /// The probability as a float.
    #[getter]
    fn decimal(&self) -> f64 {
        self.0.probability.decimal
    }
    /// The probability kube-proxy meant (``1/n`` products), a ``Fraction``.
    #[getter]
    fn nominal<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        fraction(py, &self.0.probability.nominal)
    }
    /// Whether the source address is masqueraded (SNAT to the node) on the way out.
    #[getter]
    fn masquerade(&self) -> bool {
        self.0.masquerade
    }
    /// The rules that acted, in order: dicts with ``table``, ``chain``, ``rule`` (1-based),
    /// ``text`` (as ``iptables-save`` prints it) and ``effect``.
    #[getter]
    fn steps<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        record_to_py(py, &self.0.steps)
    }
    /// The outcome as plain values (one entry of ``TraceResult.to_dict()["outcomes"]``).
    ///
    /// >>> import svccore
    /// >>> t = svccore.Cluster.from_yaml('').trace(node='n', src='10.1.0.9', dst='10.96.0.1:80')
    /// >>> t.outcomes[0].to_dict()['verdict']
    /// {'kind': 'Accept'}
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        record_to_py(py, &self.0)
    }
    fn __repr__(&self) -> String {
        format!(
            "<TraceOutcome {}{} p={}>",
            self.verdict(),
            self.endpoint().map(|e| format!(" {e}")).unwrap_or_default(),
            self.0.probability.fraction
        )
    }
}

/// The outcome of :meth:`Cluster.trace`: every path the first packet of a connection can take
/// through the node's rules, most likely first. ``str(result)`` is the text ``svccore trace``
/// prints; ``to_dict()`` its JSON form.
///
/// In ``mode="iptables"`` the rules kube-proxy writes are evaluated as netfilter does
/// (``-m statistic`` rules branch). In ``mode="nftables"`` the ``kube-proxy`` table is walked
/// hook by hook (``numgen random`` branches, each with the kernel's exact share). In
/// ``mode="ipvs"`` there is one outcome: the real server the
/// virtual server's scheduler picks for a first connection on a fresh virtual server, and
/// ``virtual_server`` describes the virtual server.
///
/// >>> import svccore
/// >>> c = svccore.Cluster.from_yaml('''
/// ... apiVersion: v1
/// ... kind: Service
/// ... metadata: {name: web, namespace: shop}
/// ... spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
/// ... ''')
/// >>> t = c.trace(node='node-a', src='10.1.0.9', dst='10.96.0.10:80')
/// >>> [(o.verdict, o.reason) for o in t.outcomes]
/// [('reject', 'shop/web has no endpoints')]
/// >>> print(str(t).splitlines()[0])
/// TCP 10.1.0.9 -> 10.96.0.10:80 from LocalPod on node "node-a": 1 outcome(s)
#[pyclass(name = "TraceResult", module = "svccore", frozen)]
#[derive(Debug)]
pub struct PyTraceResult {
    inner: TraceResult,
    mode: &'static str,
}

impl PyTraceResult {
    pub(crate) fn new(inner: TraceResult, mode: &'static str) -> Self {
        PyTraceResult { inner, mode }
    }
}

#[pymethods]
impl PyTraceResult {
    /// ``"iptables"`` or ``"ipvs"``.
    #[getter]
    fn mode(&self) -> &str {
        self.mode
    }
    /// The node traced on.
    #[getter]
    fn node(&self) -> &str {
        &self.inner.node
    }
    /// Every path, most likely first.
    #[getter]
    fn outcomes(&self) -> Vec<PyTraceOutcome> {
        self.inner
            .outcomes
            .iter()
            .map(|o| PyTraceOutcome(o.clone()))
            .collect()
    }
    /// ``{endpoint: probability}`` summed over the paths that DNAT (floats), in first-seen
    /// order.
    ///
    /// >>> import svccore
    /// >>> svccore.Cluster.from_yaml('').trace(node='n', src='10.1.0.9', dst='10.96.0.1:80').endpoints()
    /// {}
    fn endpoints<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (e, p) in self.inner.endpoint_shares() {
            d.set_item(e, p)?;
        }
        Ok(d)
    }
    /// ipvs mode: the virtual server that takes the packet (a dict with ``virtual_server``,
    /// ``kind``, ``service_port_name``, ``scheduler``, ``flags``, ``persistent_seconds``,
    /// ``endpoints_from``, ``local_fallback``, ``bound_to_kube_ipvs0``, ``real_servers``);
    /// ``None`` in iptables mode or when no virtual server matches.
    #[getter]
    fn virtual_server<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner
            .ipvs
            .as_ref()
            .map(|v| record_to_py(py, v))
            .transpose()
    }
    /// Rules the tracer could not evaluate (treated as not matching).
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.inner.warnings.clone()
    }
    /// The result as plain values (``svccore trace -o json``).
    ///
    /// >>> import svccore
    /// >>> t = svccore.Cluster.from_yaml('').trace(node='n', src='10.1.0.9', dst='10.96.0.1:80')
    /// >>> sorted(t.to_dict())
    /// ['mode', 'node', 'outcomes', 'packet', 'warnings']
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let d = record_to_py(py, &self.inner)?;
        d.set_item("mode", self.mode)?;
        Ok(d)
    }
    fn __str__(&self) -> String {
        trace::render_text(&self.inner)
    }
    fn __repr__(&self) -> String {
        let p = &self.inner.packet;
        format!(
            "<TraceResult {} {} -> {}:{} {} outcome(s)>",
            self.mode,
            p.src,
            p.dst,
            p.dst_port,
            self.inner.outcomes.len()
        )
    }
}

/// The outcome of :meth:`Cluster.audit`: how a node's ``iptables-save`` (or, in nftables mode,
/// ``nft list``) differs from what kube-proxy should have written, per service port
/// (``"(node)"`` for node-level rules). In nftables mode ``missing``, ``extra`` and ``changed``
/// hold rules, set and map elements and declarations, each as the ``add …`` command that
/// creates it.
/// ``str(report)`` is the text ``svccore audit`` prints; ``to_dict()`` its JSON form.
///
/// >>> import svccore
/// >>> c = svccore.Cluster.from_yaml('''
/// ... apiVersion: v1
/// ... kind: Service
/// ... metadata: {name: web, namespace: shop}
/// ... spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
/// ... ''')
/// >>> save = c.render_iptables(node='node-a', form='save')
/// >>> c.audit(save, node='node-a').has_drift
/// False
/// >>> r = c.audit(save.replace('-j REJECT', '-j DROP'), node='node-a')
/// >>> r.has_drift, r.service_ports
/// (True, ['shop/web'])
/// >>> print(r.extra['shop/web'][0])
/// -A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "shop/web has no endpoints" -m tcp --dport 80 -j DROP --reject-with icmp-port-unreachable
#[pyclass(name = "AuditReport", module = "svccore", frozen)]
#[derive(Debug)]
pub struct PyAuditReport(pub AuditReport);

#[pymethods]
impl PyAuditReport {
    /// Whether anything differs.
    #[getter]
    fn has_drift(&self) -> bool {
        self.0.has_drift()
    }
    /// The node audited.
    #[getter]
    fn node(&self) -> &str {
        &self.0.node
    }
    /// The family audited (``"IPv4"`` / ``"IPv6"``).
    #[getter]
    fn family(&self) -> &'static str {
        self.0.family.as_str()
    }
    /// The mode audited (``"iptables"`` / ``"nftables"``).
    #[getter]
    fn mode(&self) -> &'static str {
        self.0.mode
    }
    /// The service ports (and ``"(node)"``) with drift.
    #[getter]
    fn service_ports(&self) -> Vec<String> {
        self.0
            .service_ports
            .iter()
            .map(|g| g.service_port.clone())
            .collect()
    }
    /// How many service ports were checked and found clean.
    #[getter]
    fn clean_service_ports(&self) -> usize {
        self.0.clean_service_ports
    }
    /// What the report says about the node's dump: the one table an ``iptables -S`` output
    /// held, a table missing from it, the signs of an older kube-proxy (empty for a complete
    /// ``iptables-save`` of current kube-proxy's rules).
    #[getter]
    fn notes(&self) -> Vec<String> {
        self.0.notes.clone()
    }
    /// Rules compared on the expected side.
    #[getter]
    fn expected_rules(&self) -> usize {
        self.0.expected_rules
    }
    /// kube-proxy rules found on the node.
    #[getter]
    fn actual_rules(&self) -> usize {
        self.0.actual_rules
    }
    /// ``{service port: [rule, ...]}``: expected rules the node lacks.
    #[getter]
    fn missing(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        self.0
            .service_ports
            .iter()
            .filter(|g| !g.missing.is_empty())
            .map(|g| {
                (
                    g.service_port.clone(),
                    g.missing.iter().map(|r| r.rule.clone()).collect(),
                )
            })
            .collect()
    }
    /// ``{service port: [rule, ...]}``: rules the node has that kube-proxy would not write.
    #[getter]
    fn extra(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        self.0
            .service_ports
            .iter()
            .filter(|g| !g.extra.is_empty())
            .map(|g| {
                (
                    g.service_port.clone(),
                    g.extra.iter().map(|r| r.rule.clone()).collect(),
                )
            })
            .collect()
    }
    /// ``{service port: [(expected, actual), ...]}``: rules that differ.
    #[getter]
    fn changed(&self) -> std::collections::BTreeMap<String, Vec<(String, String)>> {
        self.0
            .service_ports
            .iter()
            .filter(|g| !g.changed.is_empty())
            .map(|g| {
                (
                    g.service_port.clone(),
                    g.changed
                        .iter()
                        .map(|r| (r.expected.clone(), r.actual.clone()))
                        .collect(),
                )
            })
            .collect()
    }
    /// The report as plain values (``svccore audit -o json``).
    ///
    /// >>> import svccore
    /// >>> c = svccore.Cluster.from_yaml('')
    /// >>> c.audit(c.render_iptables(form='save'), node='').to_dict()['service_ports']
    /// []
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let d = record_to_py(py, &self.0)?;
        d.set_item("has_drift", self.0.has_drift())?;
        Ok(d)
    }
    fn __str__(&self) -> String {
        audit::render_text(&self.0)
    }
    fn __repr__(&self) -> String {
        format!(
            "<AuditReport node={:?} drift in {} group(s)>",
            self.0.node,
            self.0.service_ports.len()
        )
    }
}

/// The load warnings of a proxier's view (kube-proxy's tolerances) as issues.
pub(crate) fn snapshot_warnings(cluster: &Cluster, fam: IpFamily) -> svccore::Result<Vec<Issue>> {
    Ok(svccore::snapshot::ProxySnapshot::build(cluster, fam)?.warnings)
}
