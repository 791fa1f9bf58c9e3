//! `svccore.Balancer`: one selection algorithm over one backend list (the core's
//! `select::Balancer`), and `svccore.SimulationReport`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};
use svccore::select::{AffinityKind, Algorithm, Backend, Balancer, Connection, Flags, Options};
use svccore::simulate::{render_text, SimulationReport};
use svccore::Error;

use crate::convert::record_to_py;
use crate::errors::{core, guard};

fn bad(msg: String) -> PyErr {
    crate::errors::to_py_err(Error::InvalidArgument(msg))
}

fn parse_ip(s: &str) -> PyResult<IpAddr> {
    s.parse()
        .map_err(|_| bad(format!("{s:?} is not an IP address")))
}

/// A backend selection algorithm over a fixed set of backends, exactly as the real engine picks:
/// ``iptables`` (kube-proxy's random cascade, with the kernel's probability granularity),
/// ``userspace`` (the userspace proxy's round robin over its list shuffled with ``seed``), the
/// IPVS schedulers (``svccore.IPVS_SCHEDULERS``; kernel list order: newest first), and
/// ``maglev`` / ``ring-hash`` (every name: ``svccore.ALGORITHMS``).
///
/// ``backends`` are ``"ip:port"`` strings; ``weights`` (IPVS, Maglev, ring hash) default to 1,
/// and weight 0 drains. ``affinity_timeout`` turns on ClientIP affinity in the engine's own
/// semantics (``affinity`` picks ``"recent"``, ``"persistence"`` or ``"lru"`` instead, except
/// for ``userspace``, which keeps its own table).
/// Every random draw comes from ``seed``: the same seed gives the same picks.
///
/// >>> import svccore
/// >>> b = svccore.Balancer("rr", ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"])
/// >>> [b.pick("192.0.2.1") for _ in range(4)]
/// ['10.0.0.3:80', '10.0.0.2:80', '10.0.0.1:80', '10.0.0.3:80']
/// >>> u = svccore.Balancer("userspace", ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"])
/// >>> first = [u.pick("192.0.2.1") for _ in range(3)]
/// >>> sorted(first) == u.backends and [u.pick("192.0.2.1") for _ in range(3)] == first
/// True
/// >>> m = svccore.Balancer("maglev", ["10.0.0.1:80", "10.0.0.2:80"], table_size=251)
/// >>> m.pick("192.0.2.7") == m.pick("192.0.2.7")
/// True
#[pyclass(name = "Balancer", module = "svccore")]
#[derive(Debug)]
pub struct PyBalancer {
    inner: Balancer,
    names: Vec<Py<PyString>>,
    /// Parsed client addresses by string object (direct-mapped on the str hash): reading a
    /// `str` under the stable ABI of Python 3.9 copies it twice, so a client seen again (the
    /// same `str` object) skips that and the parse. The entry holds a reference, so the
    /// object cannot be freed and its address reused while cached.
    ip_cache: Vec<Option<(Py<PyString>, IpAddr)>>,
}

/// Entries of [`PyBalancer::ip_cache`] (a power of two).
const IP_CACHE_SLOTS: usize = 1024;

impl PyBalancer {
    fn client_ip(&mut self, obj: &Bound<'_, PyAny>) -> PyResult<IpAddr> {
        let s = obj.cast::<PyString>().map_err(|_| {
            bad(format!(
                "client_ip must be a str, got {}",
                obj.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        let slot = (s.hash()? as usize) & (IP_CACHE_SLOTS - 1);
        if let Some((cached, ip)) = &self.ip_cache[slot] {
            if cached.as_ptr() == s.as_ptr() {
                return Ok(*ip);
            }
        }
        let ip = parse_ip(&s.to_cow()?)?;
        self.ip_cache[slot] = Some((s.clone().unbind(), ip));
        Ok(ip)
    }
}

#[pymethods]
impl PyBalancer {
    #[new]
    #[pyo3(signature = (algorithm, backends, *, weights = None, table_size = None, flags = None, seed = 0, affinity_timeout = None, affinity = None, hash_client_port = false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        algorithm: &str,
        backends: Vec<String>,
        weights: Option<Vec<u32>>,
        table_size: Option<u32>,
        flags: Option<Vec<String>>,
        seed: u64,
        affinity_timeout: Option<u32>,
        affinity: Option<&str>,
        hash_client_port: bool,
    ) -> PyResult<Self> {
        guard(|| {
            let algorithm: Algorithm = core(algorithm.parse())?;
            if backends.is_empty() {
                return Err(bad("no backends: give at least one \"ip:port\"".into()));
            }
            if let Some(w) = &weights {
                if w.len() != backends.len() {
                    return Err(bad(format!(
                        "{} weights for {} backends",
                        w.len(),
                        backends.len()
                    )));
                }
            }
            let mut list = Vec::with_capacity(backends.len());
            for (i, s) in backends.iter().enumerate() {
                let addr: SocketAddr = s.parse().map_err(|_| {
                    bad(format!(
                        "backend {s:?} is not ip:port (use [ip]:port for IPv6)"
                    ))
                })?;
                list.push(Backend::new(addr, weights.as_ref().map_or(1, |w| w[i])));
            }
            let flags: Flags = core(flags.unwrap_or_default().join(",").parse())?;
            let affinity_kind = match affinity {
                None => None,
                Some("recent") => Some(AffinityKind::Recent),
                Some("persistence") => Some(AffinityKind::Persistence),
                Some("lru") => Some(AffinityKind::Lru),
                Some(o) => {
                    return Err(bad(format!(
                        "unknown affinity {o:?}: expected recent, persistence or lru"
                    )))
                }
            };
            let mut opts = Options {
                flags,
                seed,
                affinity_timeout,
                affinity_kind,
                hash_client_port,
                ..Options::default()
            };
            if let Some(m) = table_size {
                if algorithm == Algorithm::Mh {
                    opts.mh_table_size = m;
                } else {
                    opts.maglev_table_size = m;
                }
            }
            let inner = core(Balancer::new(algorithm, &list, &opts))?;
            let names = backends
                .iter()
                .map(|s| PyString::new(py, s).unbind())
                .collect();
            Ok(PyBalancer {
                inner,
                names,
                ip_cache: (0..IP_CACHE_SLOTS).map(|_| None).collect(),
            })
        })
    }

    /// The backends, as given.
    #[getter]
    fn backends(&self, py: Python<'_>) -> Vec<Py<PyString>> {
        self.names.iter().map(|n| n.clone_ref(py)).collect()
    }

    /// The algorithm's name.
    #[getter]
    fn algorithm(&self) -> &'static str {
        self.inner.algorithm().name()
    }

    /// Picks the backend for a new connection from ``client_ip`` (and ``client_port``) at time
    /// ``now`` (seconds, for affinity); ``None`` when nothing can be picked (every backend
    /// drained, or a hash slot on a drained backend without fallback).
    ///
    /// >>> import svccore
    /// >>> b = svccore.Balancer("iptables", ["10.0.0.1:80", "10.0.0.2:80"], affinity_timeout=10)
    /// >>> first = b.pick("192.0.2.1", now=0.0)
    /// >>> b.pick("192.0.2.1", now=9.0) == first
    /// True
    #[pyo3(signature = (client_ip, client_port = None, now = 0.0))]
    fn pick(
        &mut self,
        py: Python<'_>,
        client_ip: &Bound<'_, PyAny>,
        client_port: Option<u16>,
        now: f64,
    ) -> PyResult<Option<Py<PyString>>> {
        let i = self.pick_index(client_ip, client_port, now)?;
        Ok(i.map(|i| self.names[i].clone_ref(py)))
    }

    /// Like :meth:`pick`, returning the backend's index (or ``None``).
    ///
    /// >>> import svccore
    /// >>> svccore.Balancer("rr", ["10.0.0.1:80", "10.0.0.2:80"]).pick_index("192.0.2.1")
    /// 1
    #[pyo3(signature = (client_ip, client_port = None, now = 0.0))]
    fn pick_index(
        &mut self,
        client_ip: &Bound<'_, PyAny>,
        client_port: Option<u16>,
        now: f64,
    ) -> PyResult<Option<usize>> {
        let ip = self.client_ip(client_ip)?;
        Ok(self
            .inner
            .pick(&Connection::new(ip, client_port.unwrap_or(0), now)))
    }

    /// Picks for many connections at once, all at time ``now``. ``clients`` is a list of IP
    /// strings, or anything supporting the buffer protocol holding IPv4 addresses as unsigned
    /// 32-bit integers (``array.array("I")``, a NumPy ``uint32`` array, ...). ``ports``, if
    /// given, is a list of client ports of the same length. Returns backend indices (``-1``
    /// where nothing was picked) as an ``array.array("i")``, or backend strings with
    /// ``as_addresses=True``.
    ///
    /// >>> import array, svccore
    /// >>> b = svccore.Balancer("rr", ["10.0.0.1:80", "10.0.0.2:80"])
    /// >>> b.pick_many(array.array("I", [1, 2, 3, 4])).tolist()
    /// [1, 0, 1, 0]
    /// >>> b.pick_many(["192.0.2.1"], as_addresses=True)
    /// ['10.0.0.2:80']
    #[pyo3(signature = (clients, ports = None, now = 0.0, *, as_addresses = false))]
    fn pick_many<'py>(
        &mut self,
        py: Python<'py>,
        clients: &Bound<'py, PyAny>,
        ports: Option<Vec<u16>>,
        now: f64,
        as_addresses: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ips: Vec<IpAddr> = if let Ok(list) = clients.cast::<PyList>() {
            list.iter()
                .map(|o| parse_ip(&o.extract::<String>()?))
                .collect::<PyResult<_>>()?
        } else {
            let view = py
                .import("builtins")?
                .getattr("memoryview")?
                .call1((clients,))?;
            let itemsize: usize = view.getattr("itemsize")?.extract()?;
            let format: String = view.getattr("format")?.extract()?;
            if itemsize != 4
                || !format
                    .trim_start_matches(['<', '=', '@'])
                    .starts_with(['I', 'L'])
            {
                return Err(bad(format!(
                    "clients buffer must hold unsigned 32-bit integers (IPv4), got format {format:?} of {itemsize} bytes"
                )));
            }
            let raw = view.call_method1("cast", ("B",))?.call_method0("tobytes")?;
            let bytes = raw.cast::<PyBytes>()?.as_bytes();
            bytes
                .chunks_exact(4)
                .map(|c| IpAddr::V4(Ipv4Addr::from(u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))))
                .collect()
        };
        if let Some(p) = &ports {
            if p.len() != ips.len() {
                return Err(bad(format!("{} ports for {} clients", p.len(), ips.len())));
            }
        }
        let inner = &mut self.inner;
        let picks: Vec<i32> = py.detach(|| {
            ips.iter()
                .enumerate()
                .map(|(k, ip)| {
                    let port = ports.as_ref().map_or(0, |p| p[k]);
                    inner
                        .pick(&Connection::new(*ip, port, now))
                        .map_or(-1, |i| i as i32)
                })
                .collect()
        });
        if as_addresses {
            let out = PyList::empty(py);
            for i in picks {
                if i < 0 {
                    out.append(py.None())?;
                } else {
                    out.append(self.names[i as usize].clone_ref(py))?;
                }
            }
            return Ok(out.into_any());
        }
        let bytes: Vec<u8> = picks.iter().flat_map(|i| i.to_ne_bytes()).collect();
        py.import("array")?
            .getattr("array")?
            .call1(("i", PyBytes::new(py, &bytes)))
    }

    fn __repr__(&self) -> String {
        format!(
            "Balancer({:?}, {} backends)",
            self.inner.algorithm().name(),
            self.names.len()
        )
    }
}

/// The outcome of :meth:`Cluster.simulate`: per-endpoint picks and shares, balance, affinity
/// and disruption. ``str(report)`` is the table the ``svccore simulate`` command prints;
/// ``to_dict()`` is its stable JSON form.
///
/// >>> import svccore
/// >>> c = svccore.Cluster.from_yaml('''
/// ... apiVersion: v1
/// ... kind: Service
/// ... metadata: {name: web, namespace: shop}
/// ... spec: {clusterIP: 10.96.0.10, ports: [{port: 80}], sessionAffinity: ClientIP}
/// ... ---
/// ... apiVersion: discovery.k8s.io/v1
/// ... kind: EndpointSlice
/// ... metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
/// ... addressType: IPv4
/// ... ports: [{name: "", port: 8080}]
/// ... endpoints: [{addresses: [10.1.0.1]}, {addresses: [10.1.0.2]}]
/// ... ''')
/// >>> r = c.simulate("shop/web", clients=5, connections=100)
/// >>> r.to_dict()["affinity"]["clients_pinned"]
/// 5
#[pyclass(name = "SimulationReport", module = "svccore", frozen)]
#[derive(Debug)]
pub struct PySimulationReport(pub SimulationReport);

#[pymethods]
impl PySimulationReport {
    /// kube-proxy's service port name (``ns/name[:port]``).
    #[getter]
    fn service_port(&self) -> &str {
        &self.0.service_port
    }
    /// The node the connections arrived on.
    #[getter]
    fn node(&self) -> &str {
        &self.0.node
    }
    /// The algorithm.
    #[getter]
    fn algorithm(&self) -> &str {
        &self.0.algorithm
    }
    /// Why connections failed, if they did.
    #[getter]
    fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// Connections refused.
    #[getter]
    fn rejected(&self) -> u64 {
        self.0.rejected
    }
    /// Connections dropped.
    #[getter]
    fn dropped(&self) -> u64 {
        self.0.dropped
    }
    /// max/min share over the endpoints in use.
    #[getter]
    fn balance(&self) -> f64 {
        self.0.balance
    }
    /// ``{endpoint: picks}``.
    #[getter]
    fn picks(&self) -> std::collections::BTreeMap<String, u64> {
        self.0
            .endpoints
            .iter()
            .map(|e| (e.endpoint.clone(), e.picks))
            .collect()
    }
    /// ``{endpoint: share}``.
    #[getter]
    fn shares(&self) -> std::collections::BTreeMap<String, f64> {
        self.0
            .endpoints
            .iter()
            .map(|e| (e.endpoint.clone(), e.share))
            .collect()
    }
    /// The report as plain Python values (the JSON form of ``svccore simulate -o json``).
    ///
    /// >>> import svccore
    /// >>> c = svccore.Cluster.from_yaml('''
    /// ... apiVersion: v1
    /// ... kind: Service
    /// ... metadata: {name: web, namespace: shop}
    /// ... spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
    /// ... ''')
    /// >>> c.simulate("shop/web", connections=10).to_dict()["rejected"]
    /// 10
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        record_to_py(py, &self.0)
    }
    fn __str__(&self) -> String {
        render_text(&self.0)
    }
    fn __repr__(&self) -> String {
        format!(
            "<SimulationReport {} {}>",
            self.0.service_port, self.0.algorithm
        )
    }
}
