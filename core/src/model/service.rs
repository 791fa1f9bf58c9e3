//! `v1/Service`.

use super::{LabelMap, Loc, ObjectMeta, Protocol};

/// `spec.type`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ServiceType {
    /// `ClusterIP` (the default).
    #[default]
    ClusterIP,
    /// `NodePort`.
    NodePort,
    /// `LoadBalancer`.
    LoadBalancer,
    /// `ExternalName`.
    ExternalName,
    /// Anything else, as written.
    Other(Box<str>),
}

impl ServiceType {
    /// Parses the API spelling.
    pub fn parse(s: &str) -> ServiceType {
        match s {
            "ClusterIP" => ServiceType::ClusterIP,
            "NodePort" => ServiceType::NodePort,
            "LoadBalancer" => ServiceType::LoadBalancer,
            "ExternalName" => ServiceType::ExternalName,
            o => ServiceType::Other(o.into()),
        }
    }

    /// The API spelling.
    pub fn as_str(&self) -> &str {
        match self {
            ServiceType::ClusterIP => "ClusterIP",
            ServiceType::NodePort => "NodePort",
            ServiceType::LoadBalancer => "LoadBalancer",
            ServiceType::ExternalName => "ExternalName",
            ServiceType::Other(s) => s,
        }
    }
}

/// `externalTrafficPolicy` / `internalTrafficPolicy`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrafficPolicy {
    /// `Cluster`.
    Cluster,
    /// `Local`.
    Local,
    /// Anything else, as written.
    Other(Box<str>),
}

impl TrafficPolicy {
    /// Parses the API spelling.
    pub fn parse(s: &str) -> TrafficPolicy {
        match s {
            "Cluster" => TrafficPolicy::Cluster,
            "Local" => TrafficPolicy::Local,
            o => TrafficPolicy::Other(o.into()),
        }
    }
}

/// `spec.sessionAffinity`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SessionAffinity {
    /// `None` (the default).
    #[default]
    None,
    /// `ClientIP`.
    ClientIP,
    /// Anything else, as written.
    Other(Box<str>),
}

/// A `targetPort`: a number or a container port name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IntOrString {
    /// A port number (kept wide so validation can report out-of-range values).
    Int(i64),
    /// A named container port.
    Str(Box<str>),
}

/// One entry of `spec.ports`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServicePort {
    /// `name`; empty when unnamed.
    pub name: String,
    /// `protocol` (default TCP).
    pub protocol: Protocol,
    /// `port`, as written (validated to 1..=65535).
    pub port: i64,
    /// `targetPort`; `None` means "same as port".
    pub target_port: Option<IntOrString>,
    /// `nodePort`; `None` or 0 means none.
    pub node_port: Option<i64>,
    /// `appProtocol`.
    pub app_protocol: Option<Box<str>>,
}

/// One entry of `status.loadBalancer.ingress`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadBalancerIngress {
    /// `ip`.
    pub ip: Option<String>,
    /// `hostname`.
    pub hostname: Option<String>,
    /// `ipMode` (`VIP` or `Proxy`); absent means VIP.
    pub ip_mode: Option<String>,
}

/// A `v1/Service`.
///
/// The fields nearly every Service has are fields here; the others (dual-stack lists, external
/// IPs and names, load balancer settings, legacy topology keys...) live in one [`ServiceMore`]
/// behind a box that a plain ClusterIP Service does not have, read through methods of the same
/// names. A cluster holds many Services: this keeps one at 296 bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Service {
    /// Where it was read from.
    pub loc: Loc,
    /// Name, namespace, labels, annotations.
    pub meta: ObjectMeta,
    /// `spec.type`.
    pub type_: ServiceType,
    /// `spec.clusterIP` as written (`None` string for headless); `None` when absent.
    pub cluster_ip: Option<String>,
    /// `spec.ports`.
    pub ports: Vec<ServicePort>,
    /// `spec.selector`; `None` when absent (endpoints are managed by someone else).
    pub selector: Option<LabelMap>,
    /// `spec.externalTrafficPolicy`.
    pub external_traffic_policy: Option<TrafficPolicy>,
    /// `spec.internalTrafficPolicy`.
    pub internal_traffic_policy: Option<TrafficPolicy>,
    /// `spec.sessionAffinity`.
    pub session_affinity: SessionAffinity,
    /// `spec.publishNotReadyAddresses`.
    pub publish_not_ready_addresses: bool,
    /// The other fields, read through the methods of their names ([`Service::cluster_ips`]...);
    /// `None` when all are absent ([`Service::set_more`] keeps it so).
    pub more: Option<Box<ServiceMore>>,
}

/// The fields of a [`Service`] that most Services leave out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceMore {
    /// `spec.clusterIPs` as written.
    pub cluster_ips: Vec<String>,
    /// `spec.ipFamilies` as written.
    pub ip_families: Vec<String>,
    /// `spec.ipFamilyPolicy`.
    pub ip_family_policy: Option<String>,
    /// `spec.externalIPs` as written.
    pub external_ips: Vec<String>,
    /// `spec.externalName`.
    pub external_name: Option<String>,
    /// `spec.loadBalancerIP` (deprecated).
    pub load_balancer_ip: Option<String>,
    /// `spec.loadBalancerSourceRanges` as written.
    pub load_balancer_source_ranges: Vec<String>,
    /// `status.loadBalancer.ingress`.
    pub lb_ingress: Vec<LoadBalancerIngress>,
    /// `spec.healthCheckNodePort`.
    pub health_check_node_port: Option<i64>,
    /// `spec.sessionAffinityConfig.clientIP.timeoutSeconds`.
    pub affinity_timeout: Option<i64>,
    /// `spec.topologyKeys` (legacy, v1.17-v1.21).
    pub topology_keys: Vec<String>,
    /// `spec.trafficDistribution`.
    pub traffic_distribution: Option<String>,
}

impl ServiceMore {
    /// Every field absent: what `Default` gives (an empty list, `None`), so a field added to
    /// the struct is covered too.
    pub fn is_empty(&self) -> bool {
        *self == ServiceMore::default()
    }
}

/// Read access to the fields of [`ServiceMore`], as if they were the Service's own.
macro_rules! more_fields {
    ($($(#[$doc:meta])* $name:ident: $ty:ty = $empty:expr, |$m:ident| $get:expr;)*) => {
        impl Service {
            $(
                $(#[$doc])*
                pub fn $name(&self) -> $ty {
                    match self.more.as_deref() {
                        Some($m) => $get,
                        None => $empty,
                    }
                }
            )*
        }
    };
}

more_fields! {
    /// `spec.clusterIPs` as written.
    cluster_ips: &[String] = &[], |m| &m.cluster_ips;
    /// `spec.ipFamilies` as written.
    ip_families: &[String] = &[], |m| &m.ip_families;
    /// `spec.ipFamilyPolicy`.
    ip_family_policy: Option<&str> = None, |m| m.ip_family_policy.as_deref();
    /// `spec.externalIPs` as written.
    external_ips: &[String] = &[], |m| &m.external_ips;
    /// `spec.externalName`.
    external_name: Option<&str> = None, |m| m.external_name.as_deref();
    /// `spec.loadBalancerIP` (deprecated).
    load_balancer_ip: Option<&str> = None, |m| m.load_balancer_ip.as_deref();
    /// `spec.loadBalancerSourceRanges` as written.
    load_balancer_source_ranges: &[String] = &[], |m| &m.load_balancer_source_ranges;
    /// `status.loadBalancer.ingress`.
    lb_ingress: &[LoadBalancerIngress] = &[], |m| &m.lb_ingress;
    /// `spec.healthCheckNodePort`.
    health_check_node_port: Option<i64> = None, |m| m.health_check_node_port;
    /// `spec.sessionAffinityConfig.clientIP.timeoutSeconds`.
    affinity_timeout: Option<i64> = None, |m| m.affinity_timeout;
    /// `spec.topologyKeys` (legacy, v1.17-v1.21).
    topology_keys: &[String] = &[], |m| &m.topology_keys;
    /// `spec.trafficDistribution`.
    traffic_distribution: Option<&str> = None, |m| m.traffic_distribution.as_deref();
}

impl Service {
    /// The fields of [`ServiceMore`], to change them (the box is made when it is missing).
    pub fn more_mut(&mut self) -> &mut ServiceMore {
        self.more.get_or_insert_with(Box::default)
    }

    /// Sets every field of [`ServiceMore`] at once; all absent keeps no box.
    pub fn set_more(&mut self, more: ServiceMore) {
        self.more = (!more.is_empty()).then(|| Box::new(more));
    }
}

/// The API default of `sessionAffinityConfig.clientIP.timeoutSeconds`.
pub const DEFAULT_AFFINITY_TIMEOUT: i64 = 10800;
/// The API maximum of `sessionAffinityConfig.clientIP.timeoutSeconds`.
pub const MAX_AFFINITY_TIMEOUT: i64 = 86400;

impl Service {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.meta.namespace, self.meta.name)
    }

    /// Headless: `clusterIP: None` (only for non-ExternalName services).
    pub fn is_headless(&self) -> bool {
        self.cluster_ip.as_deref() == Some("None")
            || self.cluster_ips().first().map(String::as_str) == Some("None")
    }

    /// The ClientIP affinity timeout in seconds, if session affinity is ClientIP (API default
    /// 10800 when the config is absent).
    pub fn affinity_seconds(&self) -> Option<i64> {
        match self.session_affinity {
            SessionAffinity::ClientIP => {
                Some(self.affinity_timeout().unwrap_or(DEFAULT_AFFINITY_TIMEOUT))
            }
            _ => None,
        }
    }

    /// kube-proxy's `ExternallyAccessible`: LoadBalancer, NodePort, or ClusterIP with external IPs.
    pub fn externally_accessible(&self) -> bool {
        matches!(
            self.type_,
            ServiceType::LoadBalancer | ServiceType::NodePort
        ) || (self.type_ == ServiceType::ClusterIP && !self.external_ips().is_empty())
    }

    /// kube-proxy's `ExternalPolicyLocal`.
    pub fn external_policy_local(&self) -> bool {
        self.externally_accessible() && self.external_traffic_policy == Some(TrafficPolicy::Local)
    }

    /// kube-proxy's `InternalPolicyLocal`.
    pub fn internal_policy_local(&self) -> bool {
        self.internal_traffic_policy == Some(TrafficPolicy::Local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_is_kept_only_when_a_field_is_set() {
        assert!(ServiceMore::default().is_empty());
        let one_each: [fn(&mut ServiceMore); 12] = [
            |m| m.cluster_ips.push("10.96.0.1".into()),
            |m| m.ip_families.push("IPv4".into()),
            |m| m.ip_family_policy = Some("SingleStack".into()),
            |m| m.external_ips.push("192.0.2.1".into()),
            |m| m.external_name = Some("db.example.com".into()),
            |m| m.load_balancer_ip = Some("192.0.2.2".into()),
            |m| m.load_balancer_source_ranges.push("10.0.0.0/8".into()),
            |m| m.lb_ingress.push(LoadBalancerIngress::default()),
            |m| m.health_check_node_port = Some(30000),
            |m| m.affinity_timeout = Some(60),
            |m| m.topology_keys.push("*".into()),
            |m| m.traffic_distribution = Some("PreferClose".into()),
        ];
        for set in one_each {
            let mut m = ServiceMore::default();
            set(&mut m);
            assert!(!m.is_empty(), "{m:?}");
            let mut s = Service::default();
            s.set_more(m.clone());
            assert_eq!(s.more.as_deref(), Some(&m));
        }
        let mut s = Service::default();
        s.set_more(ServiceMore::default());
        assert_eq!(s, Service::default(), "no box for nothing");
    }
}
