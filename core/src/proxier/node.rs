//! Which node a proxier runs as, and whether the input knows it.
//!
//! kube-proxy learns its node's IPs and labels from the Node object of its `--hostname-override`
//! name. Offline, a mistyped name silently renders a node with no local endpoints and no
//! addresses; [`check_node_name`] catches it ([`Error::UnknownNode`], with the closest name),
//! and [`ProxierSettings::node_notes`] says which node is used and what is unknown about it.

use crate::proxier::config::{ProxierSettings, ProxyMode};
use crate::{Cluster, Error, Result};

/// Where the node name of a proxier comes from, lowest layer first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NodeSource {
    /// No layer named a node (and the cluster had no Node object to take).
    #[default]
    Default,
    /// The KubeProxyConfiguration's `hostnameOverride`.
    HostnameOverride,
    /// The `nodeName` of a `proxy.json` settings object.
    SettingsFile,
    /// The flags (`--node` / `--hostname-override`, the bindings' `node=`).
    Flag,
    /// Nothing named a node: the first Node object of the input is taken.
    FirstNode,
}

/// How a node name matches the cluster's Node objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeCheck {
    /// A Node object has this name (or the name is empty: no node, nothing is local).
    Known,
    /// The cluster has Node objects and none has this name; `suggestion` is the closest name,
    /// when one is close.
    Unknown {
        /// The closest Node name by edit distance, if within 2 edits.
        suggestion: Option<String>,
    },
    /// The cluster has no Node objects at all: the name is taken as given, and the node's IPs
    /// and labels are unknown.
    NoNodeObjects,
}

/// Checks `name` against the cluster's Node objects.
///
/// # Example
/// ```
/// use svccore::proxier::node::{check_node_name, NodeCheck};
/// let c = svccore::load::load_strs([(None, "apiVersion: v1\nkind: Node\nmetadata: {name: node2}\n")]).unwrap();
/// assert_eq!(check_node_name(&c, "nodee2"), NodeCheck::Unknown { suggestion: Some("node2".into()) });
/// assert_eq!(check_node_name(&c, "node2"), NodeCheck::Known);
/// ```
pub fn check_node_name(cluster: &Cluster, name: &str) -> NodeCheck {
    if cluster.nodes.is_empty() {
        return NodeCheck::NoNodeObjects;
    }
    if name.is_empty() || cluster.nodes.iter().any(|n| n.meta.name == name) {
        return NodeCheck::Known;
    }
    let suggestion = cluster
        .nodes
        .iter()
        .map(|n| (edit_distance(name, &n.meta.name), &n.meta.name))
        .filter(|(d, _)| *d <= 2 && *d < name.chars().count())
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.to_string());
    NodeCheck::Unknown { suggestion }
}

/// [`Error::UnknownNode`] for `name` unless a Node object has it, the cluster has none, or
/// `allow_unknown` is set: `no Node named nodee2 (did you mean node2?)`.
pub fn require_known_node(cluster: &Cluster, name: &str, allow_unknown: bool) -> Result<()> {
    match check_node_name(cluster, name) {
        NodeCheck::Unknown { suggestion } if !allow_unknown => Err(Error::UnknownNode(
            unknown_message(name, suggestion.as_deref()),
        )),
        _ => Ok(()),
    }
}

fn unknown_message(name: &str, suggestion: Option<&str>) -> String {
    match suggestion {
        Some(s) => format!("no Node named {name} (did you mean {s}?)"),
        None => format!("no Node named {name}"),
    }
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(diag + usize::from(ca != *cb));
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

impl ProxierSettings {
    /// What a person should know about the node of these resolved settings in `mode`: which
    /// node is used and why, when no flag named it; a node name no Node object has (allowed);
    /// and, when the input has no Node objects, which facts are then missing and what the mode
    /// does without them. Empty when the flags named a node the input describes.
    pub fn node_notes(&self, cluster: &Cluster, mode: ProxyMode) -> Vec<String> {
        let mut notes = Vec::new();
        let name = &self.node.name;
        let why = match self.node_source {
            NodeSource::Flag => None,
            NodeSource::HostnameOverride => Some("the KubeProxyConfiguration's hostnameOverride"),
            NodeSource::SettingsFile => Some("nodeName of the proxier settings"),
            NodeSource::FirstNode => Some("the first Node object; --node chooses another"),
            NodeSource::Default => None,
        };
        if let Some(why) = why {
            notes.push(format!("node {name} ({why})"));
        }
        if name.is_empty() {
            notes.push(
                "no node given and no Node objects: no endpoint is local and the node has no IPs"
                    .to_owned(),
            );
            return notes;
        }
        match check_node_name(cluster, name) {
            NodeCheck::Known => {}
            NodeCheck::Unknown { suggestion } => notes.push(format!(
                "{}: the node has no IPs or labels",
                unknown_message(name, suggestion.as_deref())
            )),
            NodeCheck::NoNodeObjects => notes.extend(self.missing_facts(mode)),
        }
        notes
    }

    /// Without a Node object, what the settings do not already give and what `mode` then lacks.
    fn missing_facts(&self, mode: ProxyMode) -> Option<String> {
        let mut lacks = Vec::new();
        if self.node.ips.is_empty() {
            // ipvs binds NodePorts to the node's addresses; iptables and nftables only need them
            // when --nodeport-addresses narrows NodePorts to some of them.
            if mode == ProxyMode::Ipvs || self.node_port_cidrs().is_some() {
                lacks.push("no NodePort addresses");
            }
            lacks.push("no node IP for load-balancer source ranges");
        }
        if self.node.labels.is_empty() {
            lacks.push("no zone for topology hints");
        }
        if lacks.is_empty() {
            return None;
        }
        let what = match (self.node.ips.is_empty(), self.node.labels.is_empty()) {
            (true, true) => "IPs and labels",
            (true, false) => "IPs",
            _ => "labels",
        };
        Some(format!(
            "no Node objects: the {what} of node {} are unknown, so {}",
            self.node.name,
            lacks.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("nodee2", "node2"), 1);
        assert_eq!(edit_distance("node2", "node1"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("nosuch", "master"), 5);
    }
}
