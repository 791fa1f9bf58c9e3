//! A renderer that keeps each service port's rendered text, so that a change to one service
//! costs one service's rendering instead of the whole cluster's.

use std::collections::BTreeMap;

use crate::categorize::NodeContext;
use crate::model::Protocol;
use crate::snapshot::{ProxySnapshot, ServicePortView};
use crate::Result;

use super::restore::{self, Ctx, Plan};
use crate::proxier::config::ProxierSettings;
use crate::proxier::plan::PortPlan;

#[derive(Debug, Clone)]
struct Entry {
    view: ServicePortView,
    filter: String,
    nat_chains: String,
    nat_rules: String,
}

/// Per-service-port cache of rendered restore text.
///
/// The cache is keyed by (`ns/name[:port]`, protocol), which is also the write order, and
/// holds the [`ServicePortView`] each entry was rendered from: [`IncrementalRenderer::upsert`]
/// re-renders a port only when its view changed. The only cross-port input is the total
/// endpoint count (large-cluster mode, spec §3.5); when it crosses the threshold every port is
/// re-rendered. The output equals [`super::render_snapshot`]'s restore form for the same ports.
///
/// # Example
/// ```
/// use svccore::{load::load_strs, model::IpFamily, snapshot::ProxySnapshot};
/// use svccore::categorize::NodeContext;
/// use svccore::render::iptables::{render_snapshot, Form, IncrementalRenderer, ProxierSettings};
/// let c = load_strs([(None, r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"a","namespace":"n"},
///   "spec":{"clusterIP":"10.96.0.1","ports":[{"port":80}]}}"#)]).unwrap();
/// let snap = ProxySnapshot::build(&c, IpFamily::IPv4).unwrap();
/// let s = ProxierSettings::default();
/// let mut r = IncrementalRenderer::new(s.clone(), NodeContext::named(""));
/// r.sync(&snap).unwrap();
/// let mut changed = snap.ports[0].clone();
/// changed.port = 81;
/// assert!(r.upsert(changed));
/// assert!(r.restore_text().contains("--dport 81"));
/// ```
#[derive(Debug, Clone)]
pub struct IncrementalRenderer {
    settings: ProxierSettings,
    node: NodeContext,
    ports: BTreeMap<(String, String), Entry>,
    total_endpoints: usize,
    ctx: Ctx,
}

impl IncrementalRenderer {
    /// An empty renderer for one node (the node name is taken from `settings`).
    pub fn new(settings: ProxierSettings, node: NodeContext) -> Self {
        let node = NodeContext {
            name: settings.node.name.clone(),
            ..node
        };
        IncrementalRenderer {
            ctx: Ctx::new(&settings, 0),
            settings,
            node,
            ports: BTreeMap::new(),
            total_endpoints: 0,
        }
    }

    /// Makes the cache hold exactly the snapshot's ports; returns how many were (re)rendered.
    pub fn sync(&mut self, snap: &ProxySnapshot) -> Result<usize> {
        self.settings.check_snapshot(snap)?;
        let keep: std::collections::BTreeSet<(String, String)> = snap
            .ports
            .iter()
            .map(|p| key(&p.service_port_name, &p.protocol))
            .collect();
        let gone: Vec<_> = self
            .ports
            .keys()
            .filter(|k| !keep.contains(*k))
            .cloned()
            .collect();
        for k in gone {
            self.remove(&k.0, &Protocol::parse(&k.1.to_ascii_uppercase()));
        }
        let mut n = 0;
        for p in &snap.ports {
            n += usize::from(self.upsert(p.clone()));
        }
        Ok(n)
    }

    /// Adds or replaces one service port; returns whether anything was re-rendered.
    pub fn upsert(&mut self, view: ServicePortView) -> bool {
        let k = key(&view.service_port_name, &view.protocol);
        let old_eps = match self.ports.get(&k) {
            Some(e) if e.view == view => return false,
            Some(e) => e.view.endpoints.len(),
            None => 0,
        };
        self.total_endpoints = self.total_endpoints - old_eps + view.endpoints.len();
        if self.refresh_ctx() {
            self.rerender_all();
        }
        let e = self.render_entry(view);
        self.ports.insert(k, e);
        true
    }

    /// Removes a service port; returns whether it was there.
    pub fn remove(&mut self, service_port_name: &str, protocol: &Protocol) -> bool {
        let Some(e) = self.ports.remove(&key(service_port_name, protocol)) else {
            return false;
        };
        self.total_endpoints -= e.view.endpoints.len();
        if self.refresh_ctx() {
            self.rerender_all();
        }
        true
    }

    /// Number of service ports held.
    pub fn len(&self) -> usize {
        self.ports.len()
    }

    /// Whether no service port is held.
    pub fn is_empty(&self) -> bool {
        self.ports.is_empty()
    }

    /// The full restore payload.
    pub fn restore_text(&self) -> String {
        let size: usize = self
            .ports
            .values()
            .map(|e| e.filter.len() + e.nat_chains.len() + e.nat_rules.len())
            .sum();
        let mut out = String::with_capacity(size + 4096);
        self.write_restore(&mut out);
        out
    }

    /// Appends the full restore payload to `out`.
    pub fn write_restore(&self, out: &mut String) {
        let s = &self.settings;
        restore::filter_head(s, out);
        self.ports.values().for_each(|e| out.push_str(&e.filter));
        restore::filter_tail(s, out);
        restore::nat_chains_head(out);
        self.ports
            .values()
            .for_each(|e| out.push_str(&e.nat_chains));
        restore::nat_rules_head(s, out);
        self.ports.values().for_each(|e| out.push_str(&e.nat_rules));
        restore::nat_tail(s, out);
    }

    /// The cached rules of one service port: (filter rules, nat chain lines, nat rules).
    pub fn port_text(&self, service_port_name: &str, protocol: &Protocol) -> Option<[&str; 3]> {
        self.ports.get(&key(service_port_name, protocol)).map(|e| {
            [
                e.filter.as_str(),
                e.nat_chains.as_str(),
                e.nat_rules.as_str(),
            ]
        })
    }

    /// Updates the context; returns whether large-cluster mode flipped.
    fn refresh_ctx(&mut self) -> bool {
        let ctx = Ctx::new(&self.settings, self.total_endpoints);
        let flipped = ctx.large != self.ctx.large;
        self.ctx = ctx;
        flipped
    }

    fn rerender_all(&mut self) {
        let ports = std::mem::take(&mut self.ports);
        for (k, e) in ports {
            let e = self.render_entry(e.view);
            self.ports.insert(k, e);
        }
    }

    fn render_entry(&self, view: ServicePortView) -> Entry {
        let node_ip = self.settings.node.node_ip();
        let plan = Plan::new(&view, PortPlan::new(&view, &self.node, node_ip));
        let mut filter = String::new();
        let mut nat_chains = String::new();
        let mut nat_rules = String::new();
        restore::write_filter(&view, &plan, &mut filter);
        restore::write_nat_chains(&plan, &mut nat_chains);
        restore::write_nat_rules(&self.ctx, &view, &plan, &mut nat_rules);
        Entry {
            view,
            filter,
            nat_chains,
            nat_rules,
        }
    }
}

fn key(spn: &str, p: &Protocol) -> (String, String) {
    (spn.to_owned(), p.lower().to_owned())
}
