//! Simulation: drive connections from many clients over time through one Service port's real
//! configuration on one node (traffic policy, topology, affinity) and the chosen engine.
//!
//! The endpoint list comes from the node's [plan](crate::proxier::plan) for the kind of
//! traffic (its internal or external route), exactly as kube-proxy would program it; the picks come from
//! [`select::Balancer`](crate::select::Balancer). Connections arrive evenly over `duration`
//! seconds from `clients` clients drawn with a seeded RNG; each stays established for `hold`
//! seconds and then sits in TIME_WAIT for [`TIME_WAIT_SECONDS`], so the IPVS least-connection
//! schedulers see the ActiveConn/InActConn counts a node would show.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::categorize::NodeContext;
use crate::model::IpFamily;
use crate::proxier::plan::{PortPlan, Route};
use crate::select::measure::disruption;
use crate::select::{
    cascade, numgen, Algorithm, Backend, Balancer, Connection, Flags, Options, Rng,
};
use crate::snapshot::{ProxySnapshot, ServicePortView};
use crate::{Cluster, Error, Result};

/// How long IPVS keeps a closed TCP connection (TIME_WAIT) in its table, in seconds.
pub const TIME_WAIT_SECONDS: f64 = 120.0;

/// Where the simulated clients connect from, which decides the endpoint list used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A pod on the node, to the cluster IP (internalTrafficPolicy applies).
    #[default]
    Pod,
    /// The node itself, to the cluster IP.
    Node,
    /// Outside the cluster, to a node port, external IP or load-balancer IP
    /// (externalTrafficPolicy applies).
    External,
}

impl std::str::FromStr for Source {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "pod" => Ok(Source::Pod),
            "node" => Ok(Source::Node),
            "external" => Ok(Source::External),
            o => Err(Error::InvalidArgument(format!(
                "unknown traffic source {o:?}: expected pod, node or external"
            ))),
        }
    }
}

/// What to simulate. `Default` gives 100 clients, 10,000 connections over an hour, iptables.
#[derive(Clone, Debug, PartialEq)]
pub struct SimulateOptions {
    /// `namespace/name` or `namespace/name:port` (port name or number); a Service with one port
    /// needs no port.
    pub service: String,
    /// The node the connections arrive on; `None` = the first Node of the cluster (or none).
    pub node: Option<String>,
    /// The engine: `iptables` (kube-proxy's cascade), `nftables` (its `numgen random`),
    /// `userspace` (the proxy's round robin over every ready endpoint), an IPVS scheduler,
    /// `maglev`, `ring-hash`.
    pub algorithm: Algorithm,
    /// Where connections come from.
    pub source: Source,
    /// Number of distinct clients.
    pub clients: u32,
    /// Number of new connections.
    pub connections: u32,
    /// Seconds over which the connections arrive.
    pub duration: f64,
    /// Seconds each connection stays established.
    pub hold: f64,
    /// Seed of every random draw.
    pub seed: u64,
    /// Overrides the Service's ClientIP affinity timeout (`Some(0)` turns affinity off).
    pub affinity_timeout: Option<u32>,
    /// IPVS scheduler flags.
    pub flags: Flags,
    /// Maglev / mh table size (`None` = the engine's default).
    pub table_size: Option<u32>,
    /// An endpoint (`ip:port`) to remove, to measure disruption.
    pub remove_endpoint: Option<String>,
    /// An endpoint (`ip:port`) to add, to measure disruption.
    pub add_endpoint: Option<String>,
    /// How many of the first picks to keep in [`SimulationReport::samples`] (for timelines).
    pub samples: usize,
}

impl Default for SimulateOptions {
    fn default() -> Self {
        SimulateOptions {
            service: String::new(),
            node: None,
            algorithm: Algorithm::Iptables,
            source: Source::Pod,
            clients: 100,
            connections: 10_000,
            duration: 3600.0,
            hold: 1.0,
            seed: 0,
            affinity_timeout: None,
            flags: Flags::NONE,
            table_size: None,
            remove_endpoint: None,
            add_endpoint: None,
            samples: 0,
        }
    }
}

/// Per-endpoint result.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct EndpointStat {
    /// `ip:port`.
    pub endpoint: String,
    /// The node the endpoint runs on.
    pub node: Option<String>,
    /// Connections it received.
    pub picks: u64,
    /// `picks / connections`.
    pub share: f64,
    /// What the engine's configuration promises (iptables: the kernel's exact cascade
    /// probability; nftables: the kernel's exact `numgen random` share; others: weight share).
    pub expected_share: f64,
    /// Distinct clients it served.
    pub clients: u32,
    /// ActiveConn at the end of the run.
    pub active: u32,
    /// InActConn at the end of the run.
    pub inactive: u32,
}

/// Session-affinity outcome.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct AffinityStats {
    /// `timeoutSeconds`.
    pub timeout_seconds: u32,
    /// Connections that came back within the timeout and landed on the client's previous
    /// endpoint.
    pub hits: u64,
    /// Connections that came back within the timeout but landed elsewhere.
    pub broken: u64,
    /// Clients whose every connection landed on one endpoint.
    pub clients_pinned: u32,
    /// Clients that connected at all.
    pub clients: u32,
}

/// Disruption when one endpoint is added or removed, measured on a sample of connections apart
/// from the run's: each sampled connection (a synthetic client address and port) is picked
/// before and after the change. The JSON names are the words of the text report
/// (`sampled_connections`, `moved`, `moved_needlessly`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DisruptionStats {
    /// What changed, e.g. `remove 10.0.0.1:80`.
    pub change: String,
    /// Connections sampled (`sampled_connections`): the run's connection count, at least 1000.
    #[serde(rename = "sampled_connections")]
    pub keys: usize,
    /// Share of the sample that landed on another endpoint.
    pub moved: f64,
    /// Share of the sample that moved although neither their endpoint left nor a new one took
    /// them (`moved_needlessly`).
    #[serde(rename = "moved_needlessly")]
    pub unnecessary: f64,
}

/// One pick, for timelines.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Sample {
    /// Seconds since the start.
    pub time: f64,
    /// Client index.
    pub client: u32,
    /// Endpoint index into [`SimulationReport::endpoints`], or `None` if refused.
    pub endpoint: Option<usize>,
}

/// The outcome of a simulation. Its JSON form (serde) is stable: fields are only added.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SimulationReport {
    /// kube-proxy's service port name.
    pub service_port: String,
    /// The node.
    pub node: String,
    /// The engine.
    pub algorithm: String,
    /// Where connections came from.
    pub source: Source,
    /// Which endpoint list the node uses for this traffic: `cluster` or `local`.
    pub endpoint_list: String,
    /// Why connections fail, when they do (no endpoints, no local endpoints, topology).
    pub note: Option<String>,
    /// Connections simulated.
    pub connections: u64,
    /// Clients.
    pub clients: u32,
    /// Connections refused (REJECT / no destination).
    pub rejected: u64,
    /// Connections dropped (DROP: Local policy with no local endpoint, iptables mode).
    pub dropped: u64,
    /// The endpoints in use, with their counts.
    pub endpoints: Vec<EndpointStat>,
    /// max/min share over endpoints that should receive traffic (1.0 = perfect).
    pub balance: f64,
    /// Affinity outcome, when the Service (or the override) has ClientIP affinity.
    pub affinity: Option<AffinityStats>,
    /// Disruption, when an endpoint was added or removed.
    pub disruption: Option<DisruptionStats>,
    /// The first picks.
    pub samples: Vec<Sample>,
    /// For IPVS schedulers: `ipvsadm -Ln -t VIP:port` of the virtual server the connections hit,
    /// with the ActiveConn/InActConn counts at the end of the run.
    pub ipvs_listing: Option<String>,
}

fn find_port<'a>(snap: &'a ProxySnapshot, service: &str) -> Result<&'a ServicePortView> {
    let (svc, port) = match service.split_once(':') {
        Some((s, p)) => (s, Some(p)),
        None => (service, None),
    };
    let found = snap.find(svc, port);
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(Error::UnknownService(service.to_owned())),
        many => Err(Error::InvalidArgument(format!(
            "{service} has {} ports: name one ({})",
            many.len(),
            many.iter()
                .map(|p| p.service_port_name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Which list of a categorization serves the traffic, and what happens when it is empty.
fn endpoint_list(
    plan: &PortPlan,
    source: Source,
    ipvs: bool,
) -> (Vec<usize>, &'static str, Option<String>, bool) {
    let cat = &plan.endpoints;
    let route = match source {
        Source::Pod | Source::Node => plan.internal,
        Source::External => plan.external,
    };
    match route {
        Route::NoEndpoints => {
            let why = if cat.topology_keys_unmatched {
                "no endpoint matches the Service's topologyKeys for this node"
            } else {
                "the Service has no usable endpoints"
            };
            (
                Vec::new(),
                "cluster",
                Some(format!("{why}: connections are refused")),
                false,
            )
        }
        Route::Cluster => (cat.cluster.clone(), "cluster", None, false),
        Route::Local => (cat.local.clone(), "local", None, false),
        // spec: ipvs.md §8.3: ipvs mode falls back to the cluster list.
        Route::NoLocalEndpoints if ipvs => {
            let note = "no local endpoint: ipvs mode falls back to all endpoints (iptables mode would drop)";
            (cat.cluster.clone(), "cluster", Some(note.into()), false)
        }
        Route::NoLocalEndpoints if source == Source::External => (Vec::new(), "local", Some("externalTrafficPolicy: Local and no local endpoint on this node: external connections are dropped".into()), true),
        Route::NoLocalEndpoints => (Vec::new(), "local", Some("internalTrafficPolicy: Local and no local endpoint on this node: connections are dropped".into()), true),
    }
}

/// The list kube-proxy's userspace proxy balances over: every ready address of the port (it
/// reads the `Endpoints` object, whose `addresses` are the ready ones), whatever the traffic
/// policies or topology say; those came after the mode.
fn userspace_list(
    port: &ServicePortView,
    plan: &PortPlan,
    source: Source,
) -> (Vec<usize>, &'static str, Option<String>, bool) {
    let list = crate::proxier::userspace::proxy_endpoints(port);
    // The list the iptables mode would use for this traffic, to say when they differ.
    let (later_modes, ..) = endpoint_list(plan, source, false);
    let note = if list.is_empty() {
        Some("the Service has no ready endpoints: the proxy closes every connection".to_owned())
    } else if later_modes != list {
        Some(
            "userspace mode balances over every ready endpoint: traffic policies and topology \
             (which the later modes apply here) do not"
                .to_owned(),
        )
    } else {
        None
    };
    (list, "cluster", note, false)
}

fn parse_endpoint(s: &str) -> Result<SocketAddr> {
    s.parse()
        .map_err(|_| Error::InvalidArgument(format!("{s:?} is not an endpoint ip:port")))
}

fn client_ip(family: IpFamily, i: u32) -> IpAddr {
    match family {
        // 198.18.0.0/15 (benchmarking range): clients never collide with cluster addresses.
        IpFamily::IPv4 => IpAddr::V4(Ipv4Addr::from(0xC612_0000u32 + 1 + i)),
        IpFamily::IPv6 => IpAddr::V6(Ipv6Addr::from(
            0x2001_0002_0000_0000_0000_0000_0000_0001u128 + u128::from(i),
        )),
    }
}

/// Runs a simulation.
///
/// # Example
/// ```
/// # use svccore::{load::Loader, simulate::{simulate, SimulateOptions}};
/// let mut l = Loader::new();
/// l.add_str(None, r#"{"apiVersion":"v1","kind":"List","items":[
///  {"apiVersion":"v1","kind":"Service","metadata":{"name":"s","namespace":"n"},
///   "spec":{"clusterIP":"10.0.0.1","ports":[{"port":80}]}},
///  {"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice",
///   "metadata":{"name":"s-1","namespace":"n","labels":{"kubernetes.io/service-name":"s"}},
///   "addressType":"IPv4","ports":[{"name":"","port":8080}],
///   "endpoints":[{"addresses":["10.1.0.2"]},{"addresses":["10.1.0.3"]}]}]}"#).unwrap();
/// let cluster = l.finish().unwrap();
/// let opts = SimulateOptions { service: "n/s".into(), algorithm: "rr".parse().unwrap(), ..Default::default() };
/// let r = simulate(&cluster, &opts).unwrap();
/// assert_eq!(r.endpoints[0].picks, 5000);
/// ```
pub fn simulate(cluster: &Cluster, opts: &SimulateOptions) -> Result<SimulationReport> {
    simulate_with_progress(cluster, opts, &mut |_, _| {})
}

/// [`simulate`], calling `progress(done, total)` about a hundred times during the run (and once
/// at the end), so a command can draw a progress bar for long simulations.
pub fn simulate_with_progress(
    cluster: &Cluster,
    opts: &SimulateOptions,
    progress: &mut dyn FnMut(u32, u32),
) -> Result<SimulationReport> {
    if opts.connections == 0 || opts.clients == 0 {
        return Err(Error::InvalidArgument(
            "clients and connections must be at least 1".into(),
        ));
    }
    if !(opts.duration.is_finite()
        && opts.duration >= 0.0
        && opts.hold.is_finite()
        && opts.hold >= 0.0)
    {
        return Err(Error::InvalidArgument(
            "duration and hold must be finite, non-negative seconds".into(),
        ));
    }
    let family = if opts.service.contains('[') {
        IpFamily::IPv6
    } else {
        IpFamily::IPv4
    };
    let mut snap = ProxySnapshot::build(cluster, family)?;
    if find_port(&snap, &opts.service).is_err() && family == IpFamily::IPv4 {
        let v6 = ProxySnapshot::build(cluster, IpFamily::IPv6)?;
        if find_port(&v6, &opts.service).is_ok() {
            snap = v6;
        }
    }
    let port = find_port(&snap, &opts.service)?;
    let node_name = match &opts.node {
        Some(n) => n.clone(),
        None => cluster
            .nodes
            .first()
            .map(|n| n.meta.name.to_string())
            .unwrap_or_default(),
    };
    let node = NodeContext::from_cluster(cluster, &node_name);
    let plan = PortPlan::new(port, &node, None);
    let ipvs = opts.algorithm.ipvs_scheduler().is_some();
    let (list, list_name, note, drops) = if opts.algorithm == Algorithm::Userspace {
        userspace_list(port, &plan, opts.source)
    } else {
        endpoint_list(&plan, opts.source, ipvs)
    };

    let affinity_timeout = match opts.affinity_timeout {
        Some(0) => None,
        Some(t) => Some(t),
        None => port.affinity_seconds,
    };
    let mut sel = Options {
        flags: opts.flags,
        seed: opts.seed,
        affinity_timeout,
        ..Options::default()
    };
    if let Some(m) = opts.table_size {
        if matches!(opts.algorithm, Algorithm::Mh) {
            sel.mh_table_size = m;
        } else {
            sel.maglev_table_size = m;
        }
    }
    // kube-proxy keeps serving+terminating endpoints of the fallback at weight 1 (iptables has
    // no weights; ipvs mode sets weight 0 only on graceful deletion, see ipvs.md §8.4).
    let backends: Vec<Backend> = list
        .iter()
        .map(|&i| {
            Backend::new(
                SocketAddr::new(port.endpoints[i].ip, port.endpoints[i].port),
                1,
            )
        })
        .collect();
    let mut stats: Vec<EndpointStat> = list
        .iter()
        .map(|&i| EndpointStat {
            endpoint: port.endpoints[i].endpoint.to_string(),
            node: port.endpoints[i].node_name().map(str::to_owned),
            picks: 0,
            share: 0.0,
            expected_share: 0.0,
            clients: 0,
            active: 0,
            inactive: 0,
        })
        .collect();
    let n = backends.len();
    if n > 0 {
        let exp: Vec<f64> = match opts.algorithm {
            Algorithm::Iptables if affinity_timeout.is_none() => cascade::endpoint_probabilities(n)
                .iter()
                .map(|p| p.effective)
                .collect(),
            // n ≤ the endpoints of one service port: fits u32.
            Algorithm::Nftables if affinity_timeout.is_none() => {
                (0..n as u32).map(|k| numgen::share(k, n as u32)).collect()
            }
            _ => vec![1.0 / n as f64; n],
        };
        for (s, e) in stats.iter_mut().zip(exp) {
            s.expected_share = e;
        }
    }

    let mut report = SimulationReport {
        service_port: port.service_port_name.to_string(),
        node: node_name,
        algorithm: opts.algorithm.name().to_owned(),
        source: opts.source,
        endpoint_list: list_name.to_owned(),
        note,
        connections: u64::from(opts.connections),
        clients: opts.clients,
        rejected: 0,
        dropped: 0,
        endpoints: Vec::new(),
        balance: f64::NAN,
        affinity: None,
        disruption: None,
        samples: Vec::new(),
        ipvs_listing: None,
    };

    let mut balancer = if n > 0 {
        Some(Balancer::new(opts.algorithm, &backends, &sel)?)
    } else {
        None
    };
    let least_conn = matches!(
        opts.algorithm,
        Algorithm::Lc | Algorithm::Wlc | Algorithm::Sed | Algorithm::Nq
    );
    let mut rng = Rng::new(opts.seed ^ 0x5eed_c11e);
    // Per client: last endpoint and time, whether it ever moved, bitmap of endpoints served.
    let mut last: Vec<Option<(usize, f64)>> = vec![None; opts.clients as usize];
    let mut moved_client = vec![false; opts.clients as usize];
    let mut served = vec![Vec::<usize>::new(); n];
    let (mut hits, mut broken) = (0u64, 0u64);
    // Connection ends: (time in ms, endpoint, becomes inactive (true) or leaves (false)).
    let mut ends: BinaryHeap<Reverse<(u64, usize, bool)>> = BinaryHeap::new();
    let mut counters = vec![(0u32, 0u32); n];
    let step = if opts.connections > 1 {
        opts.duration / f64::from(opts.connections - 1)
    } else {
        0.0
    };
    let dst = SocketAddr::new(port.cluster_ip, port.port);
    let every = (opts.connections / 100).max(1);
    for k in 0..opts.connections {
        if k % every == 0 {
            progress(k, opts.connections);
        }
        let now = step * f64::from(k);
        let now_ms = (now * 1000.0) as u64;
        while let Some(Reverse((t, e, to_inactive))) = ends.peek().copied() {
            if t > now_ms {
                break;
            }
            ends.pop();
            if to_inactive {
                counters[e].0 -= 1;
                counters[e].1 += 1;
                ends.push(Reverse((t + (TIME_WAIT_SECONDS * 1000.0) as u64, e, false)));
            } else {
                counters[e].1 -= 1;
            }
            if let Some(b) = balancer.as_mut() {
                if let Some(c) = b.conn_counters_mut(e) {
                    c.active = counters[e].0;
                    c.inactive = counters[e].1;
                }
            }
        }
        let client = rng.below(u64::from(opts.clients)) as u32;
        let conn = Connection {
            client: client_ip(snap.family, client),
            client_port: 1024 + (rng.next_u32() % 64512) as u16,
            dst: Some(dst),
            now,
        };
        let pick = if drops {
            report.dropped += 1;
            None
        } else {
            match balancer.as_mut().and_then(|b| b.pick(&conn)) {
                Some(e) => Some(e),
                None => {
                    report.rejected += 1;
                    None
                }
            }
        };
        if report.samples.len() < opts.samples {
            report.samples.push(Sample {
                time: now,
                client,
                endpoint: pick,
            });
        }
        let Some(e) = pick else { continue };
        stats[e].picks += 1;
        if !served[e].contains(&(client as usize)) {
            served[e].push(client as usize);
        }
        let c = client as usize;
        if let Some((prev, at)) = last[c] {
            if prev != e {
                moved_client[c] = true;
            }
            if let Some(t) = affinity_timeout {
                if now - at < f64::from(t) {
                    if prev == e {
                        hits += 1;
                    } else {
                        broken += 1;
                    }
                }
            }
        }
        last[c] = Some((e, now));
        counters[e].0 += 1;
        ends.push(Reverse((
            (now_ms as f64 + opts.hold * 1000.0) as u64,
            e,
            true,
        )));
        if least_conn {
            if let Some(cc) = balancer.as_mut().and_then(|b| b.conn_counters_mut(e)) {
                cc.active = counters[e].0;
                cc.inactive = counters[e].1;
            }
        }
    }
    progress(opts.connections, opts.connections);
    let total = f64::from(opts.connections);
    for (i, s) in stats.iter_mut().enumerate() {
        s.share = s.picks as f64 / total;
        s.clients = served[i].len() as u32;
        s.active = counters[i].0;
        s.inactive = counters[i].1;
    }
    let shares: Vec<f64> = stats
        .iter()
        .filter(|s| s.expected_share > 0.0)
        .map(|s| s.share)
        .collect();
    report.balance = crate::select::measure::balance_of(&shares);
    if let Some(t) = affinity_timeout {
        let connected = last.iter().filter(|l| l.is_some()).count() as u32;
        let pinned = (0..last.len())
            .filter(|&c| last[c].is_some() && !moved_client[c])
            .count() as u32;
        report.affinity = Some(AffinityStats {
            timeout_seconds: t,
            hits,
            broken,
            clients_pinned: pinned,
            clients: connected,
        });
    }
    if opts.remove_endpoint.is_some() || opts.add_endpoint.is_some() {
        let mut after = backends.clone();
        let mut change = Vec::new();
        if let Some(r) = &opts.remove_endpoint {
            let a = parse_endpoint(r)?;
            let before_len = after.len();
            after.retain(|b| b.addr != a);
            if after.len() == before_len {
                return Err(Error::InvalidArgument(format!(
                    "{r} is not an endpoint of {}",
                    port.service_port_name
                )));
            }
            change.push(format!("remove {r}"));
        }
        if let Some(a) = &opts.add_endpoint {
            after.push(Backend::new(parse_endpoint(a)?, 1));
            change.push(format!("add {a}"));
        }
        if backends.is_empty() || after.is_empty() {
            return Err(Error::InvalidArgument(
                "disruption needs endpoints before and after the change".into(),
            ));
        }
        let keys = (opts.connections as usize).max(1000);
        let d = disruption(
            opts.algorithm,
            &Options {
                affinity_timeout: None,
                ..sel.clone()
            },
            &backends,
            &after,
            keys,
            opts.seed,
        )?;
        report.disruption = Some(DisruptionStats {
            change: change.join(", "),
            keys: d.keys,
            moved: d.moved,
            unnecessary: d.unnecessary,
        });
    }
    if ipvs {
        report.ipvs_listing = ipvs_listing(cluster, &snap, port, &report.node, opts, &stats)?;
    }
    report.endpoints = stats;
    Ok(report)
}

/// The listing of the one virtual server the simulated connections used, with their counts.
fn ipvs_listing(
    cluster: &Cluster,
    snap: &ProxySnapshot,
    port: &ServicePortView,
    node: &str,
    opts: &SimulateOptions,
    stats: &[EndpointStat],
) -> Result<Option<String>> {
    use crate::proxier::config::ProxierSettings;
    use crate::render::ipvs::{nodeport_ips, render_list, IpvsNode, IpvsState, ListOptions, VsId};
    let mut settings = ProxierSettings::from_cluster(cluster, node, snap.family)?;
    if let Some(s) = opts.algorithm.ipvs_scheduler() {
        settings.ipvs.scheduler = s;
    }
    let vip = match opts.source {
        Source::Pod | Source::Node => Some((port.cluster_ip, port.port)),
        Source::External => {
            let np = if port.node_port != 0 {
                nodeport_ips(&settings)
                    .first()
                    .map(|ip| (*ip, port.node_port))
            } else {
                None
            };
            np.or_else(|| port.external_ips.first().map(|ip| (*ip, port.port)))
                .or_else(|| port.lb_ips.first().map(|ip| (*ip, port.port)))
        }
    };
    let Some((addr, vport)) = vip else {
        return Ok(None);
    };
    let id = VsId::new(port.protocol.clone(), addr, vport);
    let mut state = IpvsState::new();
    for s in stats {
        if let Ok(rs) = s.endpoint.parse::<SocketAddr>() {
            state.set_conns(id.clone(), rs, s.active, s.inactive);
        }
    }
    let node = IpvsNode::build(snap, &settings, Some(&state))?;
    if node.lookup(&id.protocol, id.addr, id.port).is_none() {
        return Ok(None);
    }
    let list = ListOptions {
        service: Some(id),
        ..ListOptions::default()
    };
    render_list(&node, Some(&state), &list).map(Some)
}

/// The report as a readable table with a bar per endpoint.
pub fn render_text(r: &SimulationReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} on node {} ({}, {:?} traffic, {} endpoint list): {} connections from {} clients",
        r.service_port,
        if r.node.is_empty() { "-" } else { &r.node },
        r.algorithm,
        r.source,
        r.endpoint_list,
        r.connections,
        r.clients
    );
    if let Some(n) = &r.note {
        let _ = writeln!(out, "note: {n}");
    }
    let width = r
        .endpoints
        .iter()
        .map(|e| e.endpoint.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let _ = writeln!(
        out,
        "{:<width$}  {:>8}  {:>7}  {:>8}  {:>7}  {:>6}  {:>8}",
        "ENDPOINT", "PICKS", "SHARE", "EXPECTED", "CLIENTS", "ACTIVE", "INACTIVE"
    );
    let max = r.endpoints.iter().map(|e| e.share).fold(0.0, f64::max);
    for e in &r.endpoints {
        let bar = if max > 0.0 {
            (e.share / max * 30.0).round() as usize
        } else {
            0
        };
        let _ = writeln!(
            out,
            "{:<width$}  {:>8}  {:>6.2}%  {:>7.2}%  {:>7}  {:>6}  {:>8}  {}",
            e.endpoint,
            e.picks,
            e.share * 100.0,
            e.expected_share * 100.0,
            e.clients,
            e.active,
            e.inactive,
            "#".repeat(bar)
        );
    }
    if r.rejected > 0 {
        let _ = writeln!(out, "rejected: {}", r.rejected);
    }
    if r.dropped > 0 {
        let _ = writeln!(out, "dropped: {}", r.dropped);
    }
    if r.balance.is_finite() {
        let _ = writeln!(out, "balance (max/min share): {:.3}", r.balance);
    }
    if let Some(a) = &r.affinity {
        let _ = writeln!(
            out,
            "affinity ClientIP {}s: {} hits, {} broken; {}/{} clients stayed on one endpoint",
            a.timeout_seconds, a.hits, a.broken, a.clients_pinned, a.clients
        );
    }
    if let Some(l) = &r.ipvs_listing {
        // ipvsadm's lines end in padding: keep it, drop only the final newline.
        let _ = writeln!(
            out,
            "\n$ ipvsadm -Ln  (this virtual server, at the end of the run)\n{}",
            l.trim_end_matches('\n')
        );
    }
    if let Some(d) = &r.disruption {
        let _ = writeln!(
            out,
            "disruption ({}): of {} sampled connections (apart from the run's, each picked \
             before and after the change), {:.2}% moved, {:.2}% moved needlessly (their \
             endpoint stayed and no new one took them)",
            d.change,
            d.keys,
            d.moved * 100.0,
            d.unnecessary * 100.0
        );
    }
    out
}
