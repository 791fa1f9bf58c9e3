//! WebAssembly bindings of svccore: the engine of the browser playground (`web-demo/`).
//!
//! A thin layer, as the Python binding is: it converts the core's values into plain JavaScript
//! records (through `serde-wasm-bindgen`, typed by the TypeScript declarations below) and the
//! core's [`svccore::Error`] into a JavaScript `Error` carrying `kind`, `path` and `issues`.
//! No Kubernetes rule lives here.
//!
//! ```js
//! import init, { loadCluster, capabilities } from "./pkg/svccore_wasm.js";
//! await init();
//! const cluster = loadCluster(text, "cluster.yaml"); // throws an Error with .kind/.path/.issues
//! cluster.validate();            // [{file, path, message}]
//! cluster.services();            // {family, ports: [...], skipped: [...]}
//! cluster.endpoints("node2");    // what node2's kube-proxy uses for each service port
//! capabilities().includes("iptables-restore") && cluster.render("iptables-restore", {node: "node2"});
//! ```
//!
//! Views the core gains later (iptables and IPVS text, traces, simulations) plug in through
//! [`views`]: one table entry each, which also lists them in [`capabilities`].

mod args;
mod balancer;
mod error;
mod records;
pub mod views;

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use serde::Serialize;
use svccore::model::IpFamily;
use svccore::packet;
use svccore::proxier::config::{ProxierSettings, ProxyMode, SettingsFlags};
use svccore::snapshot::ProxySnapshot;
use wasm_bindgen::prelude::*;

use crate::args::{camel_keys, Args};
use crate::error::{to_js_error, to_js_error_at, JsResult};
use crate::records::{NodeDifferences, NodeEndpoints, NodeRecord, ServicesView};

pub use crate::balancer::JsBalancer;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = include_str!("types.d.ts");

#[wasm_bindgen(start)]
fn start() {
    // A panic becomes a readable console.error with the Rust message instead of "unreachable".
    console_error_panic_hook::set_once();
}

/// Converts a record into a plain JavaScript value (`None` as `null`, maps as objects).
///
/// Through JSON text and `JSON.parse` rather than `serde_wasm_bindgen::to_value`: the latter
/// sets every property across the wasm boundary, which for a 1,000-service snapshot (~50,000
/// properties) costs about four times as much as one string and the engine's native parser.
fn to_js<T: Serialize + ?Sized>(v: &T) -> JsResult<JsValue> {
    let text =
        serde_json::to_string(v).map_err(|e| JsValue::from(js_sys::Error::new(&e.to_string())))?;
    js_sys::JSON::parse(&text)
}

/// A core record as a plain JavaScript object with camelCase keys and extra leading fields
/// (`mode`), through the same JSON path as [`to_js`].
fn to_js_camel<T: Serialize>(v: &T, extra: &[(&str, &str)]) -> JsResult<JsValue> {
    let value =
        serde_json::to_value(v).map_err(|e| JsValue::from(js_sys::Error::new(&e.to_string())))?;
    let mut out = serde_json::Map::new();
    for (k, x) in extra {
        out.insert((*k).to_owned(), serde_json::Value::String((*x).to_owned()));
    }
    match camel_keys(value) {
        serde_json::Value::Object(m) => out.extend(m),
        other => {
            out.insert("value".to_owned(), other);
        }
    }
    to_js(&out)
}

/// [`parse_family`] for an option: a bad value's error has the option's path.
fn parse_family_at(family: Option<String>, path: &str) -> JsResult<IpFamily> {
    match family.as_deref() {
        None | Some("") => Ok(IpFamily::IPv4),
        Some(f) => svccore::proxier::config::parse_family(f).map_err(|e| to_js_error_at(&e, path)),
    }
}

/// The `scheduler` option of the IPVS views and traces: `None` for the configuration's, else
/// a scheduler the core models (its error names the option).
fn parse_scheduler(s: Option<String>) -> JsResult<Option<String>> {
    match s.as_deref() {
        None | Some("") => Ok(None),
        Some(x) => svccore::select::ipvs::Scheduler::parse(x)
            .map(|_| s.clone())
            .map_err(|e| to_js_error_at(&e, "scheduler")),
    }
}

/// A family argument (default IPv4), parsed by the core.
fn parse_family(family: Option<String>) -> JsResult<IpFamily> {
    match family.as_deref() {
        None | Some("") => Ok(IpFamily::IPv4),
        Some(f) => svccore::proxier::config::parse_family(f).map_err(|e| to_js_error(&e)),
    }
}

/// The operations this build supports, by name: the base operations (`load`, `validate`,
/// `services`, `endpoints`, `nodes`, `warnings`), the record operations (`trace`, `simulate`,
/// `balancer`), then every text view `Cluster.render` accepts. The playground shows a view only
/// when its name is listed here.
#[wasm_bindgen(js_name = capabilities, unchecked_return_type = "Capability[]")]
pub fn capabilities() -> JsResult<JsValue> {
    let names: Vec<&str> = views::BASE
        .iter()
        .chain(views::RECORDS)
        .copied()
        .chain(views::TEXT_VIEWS.iter().map(|v| v.name))
        .collect();
    to_js(&names)
}

/// The core's name lists, as the options take them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Names {
    ipvs_schedulers: &'static [&'static str],
    algorithms: Vec<&'static str>,
    traffic_sources: &'static [&'static str],
    protocols: &'static [&'static str],
}

/// The names the options take, from the core: `ipvsSchedulers` (`scheduler` of the IPVS views
/// and traces), `algorithms` (`simulate`'s `scheduler`), `trafficSources` (`trace`'s `from`;
/// `node` is the node itself) and `protocols` (`trace`'s `proto`).
#[wasm_bindgen(js_name = names, unchecked_return_type = "Names")]
pub fn names() -> JsResult<JsValue> {
    to_js(&Names {
        ipvs_schedulers: &svccore::select::ipvs::SCHEDULER_NAMES,
        algorithms: svccore::select::Algorithm::ALL
            .iter()
            .map(|a| a.name())
            .collect(),
        traffic_sources: &svccore::trace::Origin::NAMES,
        protocols: &packet::PROTOCOL_NAMES,
    })
}

/// The version of svccore this module was built from.
#[wasm_bindgen(js_name = version)]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Loads a cluster from JSON or YAML text (one object, a `List`, or a multi-document stream).
///
/// Throws an `Error` whose `kind` is `parse` (bad syntax; `path` holds `line L column C`) or
/// `manifest` (not Kubernetes objects; `issues` lists every problem with its path).
#[wasm_bindgen(js_name = loadCluster)]
pub fn load_cluster(
    text: &str,
    #[wasm_bindgen(js_name = fileName)] file_name: Option<String>,
) -> JsResult<Cluster> {
    let mut loader = svccore::Loader::new();
    loader
        .add_str(file_name.as_deref(), text)
        .map_err(|e| to_js_error(&e))?;
    let inner = loader.finish().map_err(|e| to_js_error(&e))?;
    Ok(Cluster {
        inner,
        snapshots: [OnceCell::new(), OnceCell::new()],
        tracers: RefCell::new(Vec::new()),
        nft_tracers: RefCell::new(Vec::new()),
    })
}

/// A loaded cluster. Methods compute on demand; the proxy snapshot of each family is built
/// once and reused by `services`, `endpoints`, `warnings` and `render`.
#[wasm_bindgen]
pub struct Cluster {
    inner: svccore::Cluster,
    snapshots: [OnceCell<svccore::Result<ProxySnapshot>>; 2],
    /// Parsed iptables rule sets by (node, family): parsing a 1,000-service ruleset costs most
    /// of a trace, and the graph and tracer views trace the same rules again and again.
    tracers: TracerCache<svccore::trace::Tracer>,
    /// The nftables tables read for tracing, by (node, family), for the same reason.
    nft_tracers: TracerCache<svccore::trace::NftTracer>,
}

/// Tracers by (node, family), oldest first.
type TracerCache<T> = RefCell<Vec<(String, IpFamily, Rc<T>)>>;

/// The tracer of (`node`, `family`) in `cache`, built by `build` when absent; the cache keeps
/// the [`TRACER_CACHE`] most recently built.
fn cached<T>(
    cache: &TracerCache<T>,
    node: &str,
    family: IpFamily,
    build: impl FnOnce() -> JsResult<T>,
) -> JsResult<Rc<T>> {
    if let Some((_, _, t)) = cache
        .borrow()
        .iter()
        .find(|(n, f, _)| n == node && *f == family)
    {
        return Ok(Rc::clone(t));
    }
    let tracer = Rc::new(build()?);
    let mut cache = cache.borrow_mut();
    if cache.len() >= TRACER_CACHE {
        cache.remove(0);
    }
    cache.push((node.to_owned(), family, Rc::clone(&tracer)));
    Ok(tracer)
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("services", &self.inner.services.len())
            .finish_non_exhaustive()
    }
}

/// The options of the nftables exports that make its settings (`renderNftables` adds `form`).
const NFTABLES_SETTINGS: &[&str] = &[
    "node",
    "family",
    "proxierSettings",
    "clusterCIDR",
    "masqueradeAll",
    "masqueradeBit",
    "masqueradeMark",
    "nodePortAddresses",
    "serviceCIDRs",
];

/// How many parsed rule sets a `Cluster` keeps (one per node and family traced).
const TRACER_CACHE: usize = 4;

impl Cluster {
    /// The iptables tracer of `node`'s rules for `family`, parsed once per handle.
    fn tracer(&self, node: &str, family: IpFamily) -> JsResult<Rc<svccore::trace::Tracer>> {
        cached(&self.tracers, node, family, || {
            let snap = self.snapshot(family)?;
            let settings =
                views::proxier_settings(&self.inner, ProxyMode::Iptables, node, family, None)
                    .map_err(|e| to_js_error(&e))?;
            let rules = svccore::render::iptables::render_snapshot(
                snap,
                &settings,
                &settings.node.context(),
                svccore::render::iptables::Form::Restore,
            )
            .map_err(|e| to_js_error(&e))?;
            svccore::trace::Tracer::new(&rules, &settings).map_err(|e| to_js_error(&e))
        })
    }

    /// The nftables tracer of `node`'s `kube-proxy` table for `family`, read once per handle.
    fn nft_tracer(&self, node: &str, family: IpFamily) -> JsResult<Rc<svccore::trace::NftTracer>> {
        cached(&self.nft_tracers, node, family, || {
            let settings =
                views::proxier_settings(&self.inner, ProxyMode::Nftables, node, family, None)
                    .map_err(|e| to_js_error(&e))?;
            let table = svccore::render::nftables::table(&self.inner, &settings)
                .map_err(|e| to_js_error(&e))?;
            svccore::trace::NftTracer::new(&table, &settings).map_err(|e| to_js_error(&e))
        })
    }

    /// The nftables proxier's settings from the options in [`NFTABLES_SETTINGS`], layered by
    /// the core: defaults, the cluster's `KubeProxyConfiguration`, `proxierSettings`, flags.
    fn nftables_settings(&self, args: &Args) -> JsResult<ProxierSettings> {
        let at = |path: &'static str| move |e: svccore::Error| to_js_error_at(&e, path);
        let family = match args.str("family")? {
            Some(f) if !f.is_empty() => {
                Some(svccore::proxier::config::parse_family(&f).map_err(at("family"))?)
            }
            _ => None,
        };
        let flags = SettingsFlags {
            node_name: args.str("node")?.filter(|n| !n.is_empty()),
            ip_family: family,
            cluster_cidr: args.str("clusterCIDR")?,
            masquerade_all: args.bool("masqueradeAll")?,
            masquerade_bit: args.int("masqueradeBit", 0, 31)?.map(|b| b as i64),
            masquerade_mark: args.str("masqueradeMark")?,
            nodeport_addresses: args.strings("nodePortAddresses")?,
            service_cidrs: args.strings("serviceCIDRs")?,
            ..SettingsFlags::default()
        };
        const FILE: &str = "proxierSettings";
        let fields = match args.value(FILE) {
            None => None,
            Some(serde_json::Value::String(text)) => {
                Some(ProxierSettings::parse_json_object(text, Some(FILE)).map_err(at(FILE))?)
            }
            Some(v) => Some(v.clone()),
        };
        flags
            .check_mode(ProxyMode::Nftables, fields.is_some())
            .map_err(at(""))?;
        // Errors of the settings object and the flags carry their field's path; the one that
        // has none is the bit and the mark given together.
        ProxierSettings::layered(
            self.inner.proxy_config.as_ref(),
            fields.as_ref().map(|v| (v, Some(FILE))),
            &flags,
        )
        .map_err(at("masqueradeMark"))
    }

    fn snapshot(&self, family: IpFamily) -> JsResult<&ProxySnapshot> {
        let slot = &self.snapshots[family as usize];
        slot.get_or_init(|| ProxySnapshot::build(&self.inner, family))
            .as_ref()
            .map_err(to_js_error)
    }
}

#[wasm_bindgen]
impl Cluster {
    /// The API server's validation errors, each with its file and path (empty when valid).
    #[wasm_bindgen(unchecked_return_type = "Issue[]")]
    pub fn validate(&self) -> JsResult<JsValue> {
        let issues = svccore::validate::validate(
            &self.inner,
            &svccore::validate::ValidateOptions::default(),
        );
        to_js(&issues)
    }

    /// Every service port kube-proxy of `family` (default `IPv4`) programs, with its endpoints,
    /// and the services it skips (headless, ExternalName, no cluster IP of the family) with the
    /// reason. `{endpoints: false}` leaves the endpoint lists empty (`endpointCount` stays): a
    /// quarter of the work for a 1,000-service cluster, for pickers. Throws a `validation` error
    /// when kube-proxy would refuse the objects.
    #[wasm_bindgen(unchecked_return_type = "ServicesView")]
    pub fn services(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "IpFamily")] family: Option<String>,
        #[wasm_bindgen(unchecked_optional_param_type = "ServicesOptions")] options: JsValue,
    ) -> JsResult<JsValue> {
        let family = parse_family(family)?;
        let args = Args::from_js(&options, &["endpoints"])?;
        let with_endpoints = args.bool("endpoints")?.unwrap_or(true);
        let snap = self.snapshot(family)?;
        to_js(&ServicesView::new(&self.inner, snap, with_endpoints))
    }

    /// What the kube-proxy of node `node` uses for each service port: the cluster-policy and
    /// local-policy endpoint lists after traffic policies and topology.
    #[wasm_bindgen(unchecked_return_type = "NodeEndpoints")]
    pub fn endpoints(
        &self,
        node: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "IpFamily")] family: Option<String>,
    ) -> JsResult<JsValue> {
        let family = parse_family(family)?;
        let snap = self.snapshot(family)?;
        to_js(&NodeEndpoints::new(&self.inner, snap, node))
    }

    /// The service ports whose endpoint lists differ between the Node objects' kube-proxies
    /// (traffic policies Local, topology), with the size of each node's lists.
    #[wasm_bindgen(js_name = nodeDifferences, unchecked_return_type = "NodeDifferences")]
    pub fn node_differences(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "IpFamily")] family: Option<String>,
    ) -> JsResult<JsValue> {
        let family = parse_family(family)?;
        let snap = self.snapshot(family)?;
        to_js(&NodeDifferences::new(&self.inner, snap))
    }

    /// The Node objects, in input order.
    #[wasm_bindgen(unchecked_return_type = "NodeRecord[]")]
    pub fn nodes(&self) -> JsResult<JsValue> {
        let nodes: Vec<NodeRecord> = self.inner.nodes.iter().map(NodeRecord::from).collect();
        to_js(&nodes)
    }

    /// Non-fatal findings: the loader's (skipped kinds, derived or allocated values), then
    /// kube-proxy's tolerances for `family` when the snapshot builds.
    #[wasm_bindgen(unchecked_return_type = "Issue[]")]
    pub fn warnings(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "IpFamily")] family: Option<String>,
    ) -> JsResult<JsValue> {
        let family = parse_family(family)?;
        let mut all = self.inner.warnings.clone();
        if let Ok(snap) = self.snapshot(family) {
            all.extend(snap.warnings.iter().cloned());
        }
        to_js(&all)
    }

    /// Renders a text view (a name listed by `capabilities()` after the record operations)
    /// for one node: `iptables-restore`, `iptables-save`, `nftables-dump`, `nftables-load`,
    /// `nftables-list` (the forms of `renderNftables`), `ipvsadm-ln`, `ipvsadm-save`,
    /// `ipset-save`, `ipvs-iptables`, `ipvs-addresses`, `userspace-restore`, `userspace-jumps`,
    /// `userspace-save` (userspace mode's portal rules, forms as `render iptables --mode
    /// userspace`). Options: `node`, `family`, `scheduler`
    /// (IPVS; default the configuration's `ipvs.scheduler`, else `rr`). Throws an
    /// `invalid-argument` error for a view this build does not have or a bad option (its `path`
    /// names the option).
    pub fn render(
        &self,
        view: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "RenderOptions")] options: JsValue,
    ) -> JsResult<String> {
        let args = Args::from_js(&options, &["node", "family", "scheduler"])?;
        let node = args.str("node")?.unwrap_or_default();
        let family = parse_family_at(args.str("family")?, "family")?;
        let scheduler = parse_scheduler(args.str("scheduler")?)?;
        let Some(v) = views::TEXT_VIEWS.iter().find(|v| v.name == view) else {
            return Err(to_js_error_at(
                &svccore::Error::InvalidArgument(format!(
                    "view {view:?} is not available in this build"
                )),
                "view",
            ));
        };
        let input = views::ViewInput {
            cluster: &self.inner,
            snapshot: self.snapshot(family)?,
            node: svccore::categorize::NodeContext::from_cluster(&self.inner, &node),
            family,
            scheduler,
        };
        (v.render)(&input).map_err(|e| to_js_error(&e))
    }

    /// Renders the `kube-proxy` table the nftables proxier on one node programs, in `form`:
    /// `dump` (kube-proxy's unit-test dump, the default), `load` (the same `add` lines in the
    /// order `nft -f` accepts) or `list` (what `nft list table ip kube-proxy` prints).
    ///
    /// Settings are layered by the core as for every mode: kube-proxy's defaults, the
    /// cluster's `KubeProxyConfiguration`, `proxierSettings` (a `proxy.json` object or its JSON
    /// text), then the flags that apply to nftables mode: `node`, `family`, `clusterCIDR`,
    /// `masqueradeAll`, `masqueradeBit`, `masqueradeMark`, `nodePortAddresses`,
    /// `serviceCIDRs`; the Node object fills the rest. The cluster's ServiceCIDR objects, when
    /// it has any, replace `serviceCIDRs` (`nftablesServiceCidrs` says which were used).
    /// Errors name the option (`form`, `serviceCIDRs[0]`; a `proxierSettings` field by its own
    /// path, with `file` `proxierSettings`).
    #[wasm_bindgen(js_name = renderNftables)]
    pub fn render_nftables(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "NftablesOptions")] options: JsValue,
    ) -> JsResult<String> {
        use svccore::render::nftables::{parse_form, render, Form};
        let mut known = vec!["form"];
        known.extend(NFTABLES_SETTINGS);
        let args = Args::from_js(&options, &known)?;
        let form = match args.str("form")?.as_deref() {
            None | Some("") => Form::Dump,
            Some(f) => parse_form(f).map_err(|e| to_js_error_at(&e, "form"))?,
        };
        let settings = self.nftables_settings(&args)?;
        render(&self.inner, &settings, form).map_err(|e| to_js_error(&e))
    }

    /// The ServiceCIDRs `renderNftables` drops unallocated cluster IPs in (same options, no
    /// `form`), and where they come from: `source` is `objects` (the cluster's ServiceCIDR
    /// objects, named in `names`), `settings` (`serviceCIDRs` or `proxierSettings`) or `none`;
    /// `message` says it in one line, as `svccore render nftables` does on stderr.
    #[wasm_bindgen(js_name = nftablesServiceCidrs, unchecked_return_type = "ServiceCidrChoice")]
    pub fn nftables_service_cidrs(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "NftablesSettingsOptions")] options: JsValue,
    ) -> JsResult<JsValue> {
        use svccore::proxier::service_cidrs::{choose_service_cidrs, ServiceCidrSource};
        let args = Args::from_js(&options, NFTABLES_SETTINGS)?;
        let settings = self.nftables_settings(&args)?;
        let choice = choose_service_cidrs(&self.inner, &settings).map_err(|e| to_js_error(&e))?;
        let (source, names): (&str, &[String]) = match &choice.source {
            ServiceCidrSource::Objects(names) => ("objects", names),
            ServiceCidrSource::Settings => ("settings", &[]),
            ServiceCidrSource::None => ("none", &[]),
        };
        to_js(&serde_json::json!({
            "source": source,
            "names": names,
            "cidrs": choice.cidrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "message": choice.source.describe(&choice.cidrs),
        }))
    }

    /// The settings the kube-proxy of `mode` (`iptables`, `ipvs`, `nftables`; default
    /// `iptables`) on `node` runs with: kube-proxy's defaults, the cluster's
    /// `KubeProxyConfiguration`, `family` and (ipvs) `scheduler`, filled from the Node object.
    /// The `proxy.json` fields plus `localDetector`, `ipvsScheduler`, `nodeLabels`, `podCIDRs`:
    /// the same record as Python's `Cluster.settings`.
    #[wasm_bindgen(unchecked_return_type = "ProxierSettings")]
    pub fn settings(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "SettingsOptions")] options: JsValue,
    ) -> JsResult<JsValue> {
        let args = Args::from_js(&options, &["node", "family", "mode", "scheduler"])?;
        let node = args.str("node")?.unwrap_or_default();
        let family = parse_family_at(args.str("family")?, "family")?;
        let mode = args.str("mode")?.unwrap_or_else(|| "iptables".into());
        let mode = ProxyMode::parse_among(&mode, &ProxyMode::ALL)
            .map_err(|e| to_js_error_at(&e, "mode"))?;
        let scheduler = parse_scheduler(args.str("scheduler")?)?;
        let s = views::proxier_settings(&self.inner, mode, &node, family, scheduler.as_deref())
            .map_err(|e| to_js_error_at(&e, "scheduler"))?;
        to_js(&s.describe())
    }

    /// Traces the first packet of a connection through one node's kube-proxy.
    ///
    /// Options: `src` (client IP), `dst` (`ip:port`, `[ip]:port`, or an IP with `port`),
    /// `proto` (`TCP`), `from` (`pod`: a pod on the node, the default; `node`: the node itself,
    /// host network; `other-node`; `external`; see `names().trafficSources`), `node`,
    /// `mode` (`iptables`, `nftables`, `ipvs` or `userspace`), `scheduler` (ipvs), `srcPort` (ipvs: hashed
    /// by `sh-port` / `mh-port`), `recent` (the affinity entries the client has: iptables
    /// `KUBE-SEP-…` lists, nftables `affinity-…` sets). The family is the destination's.
    ///
    /// iptables and nftables modes: every path through the rules with its probability (exact
    /// fraction, decimal, nominal), verdict, masquerade and steps (nftables: each step's
    /// `table` is its chain's type, `filter` or `nat`). ipvs mode: the virtual server, its real
    /// servers with their shares, and the one the scheduler picks for this client. userspace mode:
    /// the portal rule that sends the packet to the proxy port, then one path per endpoint the
    /// proxy's round robin can pick.
    #[wasm_bindgen(unchecked_return_type = "TraceResult")]
    pub fn trace(
        &self,
        #[wasm_bindgen(unchecked_param_type = "TraceOptions")] options: JsValue,
    ) -> JsResult<JsValue> {
        let args = Args::from_js(
            &options,
            &[
                "node",
                "src",
                "dst",
                "port",
                "proto",
                "from",
                "mode",
                "scheduler",
                "srcPort",
                "recent",
            ],
        )?;
        let node = args.str("node")?.unwrap_or_default();
        // The core parses each option; its error gets the option's path.
        let at = |path: &'static str| move |e: svccore::Error| to_js_error_at(&e, path);
        let port = args.int("port", 1, 65535)?.map(|p| p as u16);
        let (dst, dst_port) =
            packet::parse_dst(&args.required_str("dst")?, port).map_err(at("dst"))?;
        let src = packet::parse_src(&args.required_str("src")?).map_err(at("src"))?;
        packet::check_families(src, dst).map_err(at("src"))?;
        let protocol = packet::parse_protocol(args.str("proto")?.as_deref().unwrap_or("tcp"))
            .map_err(at("proto"))?;
        let origin = packet::parse_origin(args.str("from")?.as_deref().unwrap_or("pod"))
            .map_err(at("from"))?;
        let packet = svccore::trace::Packet {
            src,
            dst,
            dst_port,
            protocol,
            origin,
            in_interface: None,
            recent: args.strings("recent")?.unwrap_or_default(),
        };
        let family = packet::proxier_family(&packet);
        let mode = args.str("mode")?.unwrap_or_else(|| "iptables".into());
        let mode = ProxyMode::parse_among(&mode, &packet::TRACE_MODES).map_err(at("mode"))?;
        let scheduler = parse_scheduler(args.str("scheduler")?)?;
        let flags = SettingsFlags {
            ipvs_scheduler: scheduler.clone(),
            ..SettingsFlags::default()
        };
        flags.check_mode(mode, false).map_err(at("scheduler"))?;
        match mode {
            ProxyMode::Ipvs => {
                let src_port = args.int("srcPort", 0, 65535)?.unwrap_or(0) as u16;
                let snap = self.snapshot(family)?;
                let ipvs = views::ipvs_node(&self.inner, snap, &node, family, scheduler.as_deref())
                    .map_err(|e| to_js_error(&e))?;
                let t = svccore::trace::trace_ipvs_node(&ipvs, &packet, src_port)
                    .map_err(|e| to_js_error_at(&e, "scheduler"))?;
                to_js_camel(&t, &[("mode", "ipvs")])
            }
            ProxyMode::Nftables => {
                let tracer = self.nft_tracer(&node, family)?;
                let mut t = tracer.trace(&packet).map_err(|e| to_js_error(&e))?;
                tracer.explain(self.snapshot(family)?, &mut t);
                to_js_camel(&t, &[("mode", "nftables")])
            }
            ProxyMode::Iptables => {
                let tracer = self.tracer(&node, family)?;
                let mut t = tracer.trace(&packet).map_err(|e| to_js_error(&e))?;
                tracer.explain(self.snapshot(family)?, &mut t);
                to_js_camel(&t, &[("mode", "iptables")])
            }
            ProxyMode::Userspace => {
                let settings =
                    views::proxier_settings(&self.inner, ProxyMode::Userspace, &node, family, None)
                        .map_err(|e| to_js_error(&e))?;
                let t = svccore::trace::trace_userspace(&self.inner, &settings, &packet)
                    .map_err(|e| to_js_error(&e))?;
                to_js_camel(&t, &[("mode", "userspace")])
            }
        }
    }

    /// Simulates connections from many clients to one service port on one node, through the
    /// engine named by `scheduler` (`iptables`, `nftables`, an IPVS scheduler, `maglev`,
    /// `ring-hash`).
    ///
    /// Options: `service` (`ns/name` or `ns/name:port`; required), `node` (default the first
    /// Node), `scheduler` (`iptables`), `from` (`pod`, `node`, `external`), `clients` (100),
    /// `connections` (10,000), `duration` (3,600 s), `hold` (1 s), `seed` (0),
    /// `affinityTimeout` (the Service's; 0 turns affinity off), `samples` (0: how many of the
    /// first picks to return, for timelines), `flags`, `tableSize`, `removeEndpoint`,
    /// `addEndpoint`. The same options give the same numbers as Python's `Cluster.simulate`.
    #[wasm_bindgen(unchecked_return_type = "SimulationReport")]
    pub fn simulate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SimulateOptions")] options: JsValue,
    ) -> JsResult<JsValue> {
        use svccore::simulate::{simulate, SimulateOptions};
        let args = Args::from_js(
            &options,
            &[
                "service",
                "node",
                "scheduler",
                "from",
                "clients",
                "connections",
                "duration",
                "hold",
                "seed",
                "affinityTimeout",
                "samples",
                "flags",
                "tableSize",
                "removeEndpoint",
                "addEndpoint",
            ],
        )?;
        let d = SimulateOptions::default();
        let core_at = |path: &'static str| move |e: svccore::Error| to_js_error_at(&e, path);
        let opts = SimulateOptions {
            service: args.required_str("service")?,
            node: args.str("node")?.filter(|n| !n.is_empty()),
            algorithm: match args.str("scheduler")? {
                Some(s) => s.parse().map_err(core_at("scheduler"))?,
                None => d.algorithm,
            },
            source: match args.str("from")? {
                Some(s) => s.parse().map_err(core_at("from"))?,
                None => d.source,
            },
            clients: args
                .int("clients", 1, 1_000_000)?
                .map_or(d.clients, |n| n as u32),
            connections: args
                .int("connections", 1, 10_000_000)?
                .map_or(d.connections, |n| n as u32),
            duration: args.seconds("duration")?.unwrap_or(d.duration),
            hold: args.seconds("hold")?.unwrap_or(d.hold),
            seed: args.int("seed", 0, (1 << 53) - 1)?.unwrap_or(d.seed),
            affinity_timeout: args.int("affinityTimeout", 0, 86_400)?.map(|n| n as u32),
            flags: match args.strings("flags")? {
                Some(f) => f.join(",").parse().map_err(core_at("flags"))?,
                None => d.flags,
            },
            table_size: args.int("tableSize", 1, 5_000_011)?.map(|n| n as u32),
            remove_endpoint: args.str("removeEndpoint")?,
            add_endpoint: args.str("addEndpoint")?,
            samples: args.int("samples", 0, 100_000)?.map_or(0, |n| n as usize),
        };
        let r = simulate(&self.inner, &opts).map_err(|e| {
            let path = match &e {
                svccore::Error::UnknownService(_) => "service",
                _ => "",
            };
            to_js_error_at(&e, path)
        })?;
        to_js_camel(&r, &[])
    }

    /// How many Service objects were loaded (cheap; for status lines).
    #[wasm_bindgen(getter, js_name = serviceCount)]
    pub fn service_count(&self) -> usize {
        self.inner.services.len()
    }
}
