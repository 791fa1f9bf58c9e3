//! `svccore.ProxyConfig`: a kube-proxy `KubeProxyConfiguration`.

use pyo3::prelude::*;
use pyo3::types::PyAny;
use serde::Serialize;
use svccore::model::{DetectLocalMode, ProxyConfig};
use svccore::validate::{validate, ValidateOptions};
use svccore::{Cluster, Error, Issue, Loader};

use crate::convert::record_to_py;
use crate::errors::{core, guard};
use crate::types::PyIssue;

/// A kube-proxy configuration (``KubeProxyConfiguration``, the ``config.conf`` of the
/// ``kube-proxy`` ConfigMap). Attributes mirror its fields in snake_case; ``None`` means not set.
///
/// >>> import svccore
/// >>> cfg = svccore.ProxyConfig.from_yaml('''
/// ... apiVersion: kubeproxy.config.k8s.io/v1alpha1
/// ... kind: KubeProxyConfiguration
/// ... mode: ipvs
/// ... clusterCIDR: 10.244.0.0/16
/// ... ipvs: {scheduler: wrr, strictARP: true}
/// ... ''')
/// >>> (cfg.mode, cfg.cluster_cidr, cfg.ipvs_scheduler, cfg.ipvs_strict_arp)
/// ('ipvs', '10.244.0.0/16', 'wrr', True)
#[pyclass(name = "ProxyConfig", module = "svccore", frozen)]
#[derive(Clone, Debug, Serialize)]
pub struct PyProxyConfig {
    /// ``mode``: ``iptables``, ``ipvs``, ``nftables`` (or empty).
    #[pyo3(get)]
    mode: Option<String>,
    /// ``clusterCIDR`` (comma-separated when dual-stack).
    #[pyo3(get)]
    cluster_cidr: Option<String>,
    /// ``hostnameOverride``.
    #[pyo3(get)]
    hostname_override: Option<String>,
    /// ``iptables.masqueradeAll``.
    #[pyo3(get)]
    masquerade_all: Option<bool>,
    /// ``iptables.masqueradeBit``.
    #[pyo3(get)]
    masquerade_bit: Option<i64>,
    /// ``iptables.localhostNodePorts``.
    #[pyo3(get)]
    localhost_node_ports: Option<bool>,
    /// ``ipvs.scheduler``.
    #[pyo3(get)]
    ipvs_scheduler: Option<String>,
    /// ``ipvs.strictARP``.
    #[pyo3(get)]
    ipvs_strict_arp: Option<bool>,
    /// ``nodePortAddresses``.
    #[pyo3(get)]
    node_port_addresses: Vec<String>,
    /// ``detectLocalMode``.
    #[pyo3(get)]
    detect_local_mode: Option<String>,
    /// ``detectLocal.bridgeInterface``.
    #[pyo3(get)]
    bridge_interface: Option<String>,
    /// ``detectLocal.interfaceNamePrefix``.
    #[pyo3(get)]
    interface_name_prefix: Option<String>,
    /// The input file it came from.
    #[pyo3(get)]
    file: Option<String>,
    #[serde(skip)]
    inner: ProxyConfig,
}

impl From<&ProxyConfig> for PyProxyConfig {
    fn from(c: &ProxyConfig) -> Self {
        PyProxyConfig {
            mode: c.mode.clone(),
            cluster_cidr: c.cluster_cidr.clone(),
            hostname_override: c.hostname_override.clone(),
            masquerade_all: c.masquerade_all,
            masquerade_bit: c.masquerade_bit,
            localhost_node_ports: c.localhost_nodeports,
            ipvs_scheduler: c.ipvs_scheduler.clone(),
            ipvs_strict_arp: c.ipvs_strict_arp,
            node_port_addresses: c.nodeport_addresses.clone(),
            detect_local_mode: c.detect_local_mode.as_ref().map(|m| {
                match m {
                    DetectLocalMode::ClusterCidr => "ClusterCIDR",
                    DetectLocalMode::NodeCidr => "NodeCIDR",
                    DetectLocalMode::BridgeInterface => "BridgeInterface",
                    DetectLocalMode::InterfaceNamePrefix => "InterfaceNamePrefix",
                    DetectLocalMode::Other(s) => s,
                }
                .to_owned()
            }),
            bridge_interface: c.bridge_interface.clone(),
            interface_name_prefix: c.interface_name_prefix.clone(),
            file: c.loc.file.as_deref().map(str::to_owned),
            inner: c.clone(),
        }
    }
}

impl PyProxyConfig {
    /// The core's configuration.
    pub(crate) fn inner(&self) -> &ProxyConfig {
        &self.inner
    }
}

#[pymethods]
impl PyProxyConfig {
    /// Reads a ``KubeProxyConfiguration`` from YAML (or JSON) text; the last one wins when the
    /// text has several documents. Raises ``ConfigError`` when there is none, ``ParseError``
    /// on bad syntax.
    ///
    /// >>> import svccore
    /// >>> svccore.ProxyConfig.from_yaml(
    /// ...     'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n'
    /// ... ).mode is None
    /// True
    #[staticmethod]
    #[pyo3(signature = (text, *, file = None))]
    fn from_yaml(py: Python<'_>, text: &str, file: Option<&str>) -> PyResult<Self> {
        guard(|| {
            let cluster = core(py.detach(|| {
                let mut l = Loader::new();
                l.add_str(file, text)?;
                l.finish()
            }))?;
            match &cluster.proxy_config {
                Some(c) => Ok(PyProxyConfig::from(c)),
                None => Err(crate::errors::to_py_err(Error::Config(Issue::new(
                    file,
                    "",
                    "no KubeProxyConfiguration in the input",
                )))),
            }
        })
    }

    /// Checks the values kube-proxy would refuse; returns every problem (empty: valid).
    ///
    /// >>> import svccore
    /// >>> cfg = svccore.ProxyConfig.from_yaml('''
    /// ... apiVersion: kubeproxy.config.k8s.io/v1alpha1
    /// ... kind: KubeProxyConfiguration
    /// ... clusterCIDR: 10.244.0.0/16
    /// ... ''')
    /// >>> cfg.validate()
    /// []
    fn validate(&self) -> PyResult<Vec<PyIssue>> {
        guard(|| {
            let cluster = Cluster {
                proxy_config: Some(self.inner.clone()),
                ..Default::default()
            };
            let issues = validate(&cluster, &ValidateOptions::default());
            Ok(issues.iter().map(PyIssue::from).collect())
        })
    }

    /// The configuration as a dict of the attributes above.
    ///
    /// >>> import svccore
    /// >>> cfg = svccore.ProxyConfig.from_yaml(
    /// ...     'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: iptables\n')
    /// >>> cfg.to_dict()['mode']
    /// 'iptables'
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        record_to_py(py, self)
    }

    fn __repr__(&self) -> String {
        format!(
            "<ProxyConfig mode={}>",
            self.mode.as_deref().unwrap_or("(default)")
        )
    }
}
