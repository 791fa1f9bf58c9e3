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

mod error;
mod records;
pub mod views;

use std::cell::OnceCell;

use serde::Serialize;
use svccore::model::IpFamily;
use svccore::snapshot::ProxySnapshot;
use wasm_bindgen::prelude::*;

use crate::error::{to_js_error, JsResult};
use crate::records::{NodeDifferences, NodeEndpoints, NodeRecord, ServicesView};

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

fn parse_family(family: Option<String>) -> JsResult<IpFamily> {
    match family.as_deref() {
        None | Some("") => Ok(IpFamily::IPv4),
        Some(f) => IpFamily::parse(f).ok_or_else(|| {
            to_js_error(&svccore::Error::InvalidArgument(format!(
                "unknown IP family {f:?}: must be IPv4 or IPv6"
            )))
        }),
    }
}

/// The operations this build supports, by name: the base operations (`load`, `validate`,
/// `services`, `endpoints`, `nodes`, `warnings`) followed by every view `Cluster.render`
/// accepts. The playground shows a view only when its name is listed here.
#[wasm_bindgen(js_name = capabilities, unchecked_return_type = "Capability[]")]
pub fn capabilities() -> JsResult<JsValue> {
    let names: Vec<&str> = views::BASE
        .iter()
        .copied()
        .chain(views::TEXT_VIEWS.iter().map(|v| v.name))
        .collect();
    to_js(&names)
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
    })
}

/// A loaded cluster. Methods compute on demand; the proxy snapshot of each family is built
/// once and reused by `services`, `endpoints`, `warnings` and `render`.
#[wasm_bindgen]
pub struct Cluster {
    inner: svccore::Cluster,
    snapshots: [OnceCell<svccore::Result<ProxySnapshot>>; 2],
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("services", &self.inner.services.len())
            .finish_non_exhaustive()
    }
}

impl Cluster {
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
    /// and the services it skips (headless, ExternalName). Throws a `validation` error when
    /// kube-proxy would refuse the objects.
    #[wasm_bindgen(unchecked_return_type = "ServicesView")]
    pub fn services(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "IpFamily")] family: Option<String>,
    ) -> JsResult<JsValue> {
        let family = parse_family(family)?;
        let snap = self.snapshot(family)?;
        to_js(&ServicesView::new(&self.inner, snap))
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

    /// Renders a text view (a name listed by `capabilities()` after the base operations) for
    /// one node. Throws an `invalid-argument` error for a view this build does not have.
    pub fn render(
        &self,
        view: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "RenderOptions")] options: JsValue,
    ) -> JsResult<String> {
        let opts: records::RenderOptions = if options.is_undefined() || options.is_null() {
            records::RenderOptions::default()
        } else {
            serde_wasm_bindgen::from_value(options).map_err(|e| {
                to_js_error(&svccore::Error::InvalidArgument(format!(
                    "bad render options: {e}"
                )))
            })?
        };
        let family = parse_family(opts.family)?;
        let Some(v) = views::TEXT_VIEWS.iter().find(|v| v.name == view) else {
            return Err(to_js_error(&svccore::Error::InvalidArgument(format!(
                "view {view:?} is not available in this build"
            ))));
        };
        let input = views::ViewInput {
            cluster: &self.inner,
            snapshot: self.snapshot(family)?,
            node: svccore::categorize::NodeContext::from_cluster(
                &self.inner,
                opts.node.as_deref().unwrap_or(""),
            ),
            family,
        };
        (v.render)(&input).map_err(|e| to_js_error(&e))
    }

    /// How many Service objects were loaded (cheap; for status lines).
    #[wasm_bindgen(getter, js_name = serviceCount)]
    pub fn service_count(&self) -> usize {
        self.inner.services.len()
    }
}
