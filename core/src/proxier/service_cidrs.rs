//! Which ServiceCIDRs the nftables proxier drops unallocated cluster IPs in.
//!
//! kube-proxy learns them from the `ServiceCIDR` objects it watches (all of them, both
//! families; each proxier keeps its own family's). An offline input often has none, so the
//! `serviceCIDRs` settings field or the `--service-cidrs` flag stands in. The choice is made
//! here, once, and reported to the caller so a command can say which source it used.

use ipnet::IpNet;

use super::config::ProxierSettings;
use crate::validate::parse_service_cidr;
use crate::{Cluster, Error, Result};

/// Where the ServiceCIDRs came from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "source", content = "names")]
pub enum ServiceCidrSource {
    /// The input's `ServiceCIDR` objects (their names, in input order).
    Objects(Vec<String>),
    /// The proxier settings' `serviceCIDRs` (a `--proxier-settings` file or the
    /// `--service-cidrs` flag): the input has no `ServiceCIDR` object.
    Settings,
    /// Neither: no drop rule for unallocated cluster IPs.
    None,
}

impl ServiceCidrSource {
    /// One line for a command's stderr, e.g. `service CIDRs: 2 ServiceCIDR objects (a, b)`.
    pub fn describe(&self, cidrs: &[IpNet]) -> String {
        let list = cidrs
            .iter()
            .map(IpNet::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        match self {
            ServiceCidrSource::Objects(names) => format!(
                "service CIDRs {list}: from {} ServiceCIDR object{} ({})",
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                names.join(", ")
            ),
            ServiceCidrSource::Settings => {
                format!("service CIDRs {list}: from --service-cidrs / the serviceCIDRs setting (no ServiceCIDR object in the input)")
            }
            ServiceCidrSource::None => {
                "no service CIDRs (no ServiceCIDR object, none in the proxier settings): no drop rule for unallocated cluster IPs".to_owned()
            }
        }
    }
}

/// The ServiceCIDRs one proxier uses and their source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceCidrChoice {
    /// Both families, without duplicates, in input order (the renderer keeps its family's).
    pub cidrs: Vec<IpNet>,
    /// Where they came from.
    pub source: ServiceCidrSource,
}

/// The ServiceCIDRs for `cluster`: those of its `ServiceCIDR` objects if it has any, else
/// `settings.nftables.service_cidrs`. Every object CIDR is checked as the API server does; a bad one is
/// an [`Error::Validation`] naming its file and path (`items[2].spec.cidrs[0]`).
///
/// # Example
/// ```
/// use svccore::proxier::config::ProxierSettings;
/// use svccore::proxier::service_cidrs::{choose_service_cidrs, ServiceCidrSource};
/// let cluster = svccore::load::load_strs([(None, r#"{"apiVersion": "networking.k8s.io/v1",
///     "kind": "ServiceCIDR", "metadata": {"name": "kubernetes"},
///     "spec": {"cidrs": ["10.96.0.0/12", "fd00:10:96::/112"]}}"#)]).unwrap();
/// let mut settings = ProxierSettings::default();
/// settings.nftables.service_cidrs = vec!["172.30.0.0/16".parse().unwrap()];
/// let choice = choose_service_cidrs(&cluster, &settings).unwrap();
/// assert_eq!(choice.source, ServiceCidrSource::Objects(vec!["kubernetes".into()]));
/// assert_eq!(choice.cidrs[0].to_string(), "10.96.0.0/12");
/// ```
pub fn choose_service_cidrs(
    cluster: &Cluster,
    settings: &ProxierSettings,
) -> Result<ServiceCidrChoice> {
    if cluster.service_cidrs.is_empty() {
        let mut cidrs = Vec::new();
        for c in &settings.nftables.service_cidrs {
            if !cidrs.contains(c) {
                cidrs.push(*c);
            }
        }
        let source = if cidrs.is_empty() {
            ServiceCidrSource::None
        } else {
            ServiceCidrSource::Settings
        };
        return Ok(ServiceCidrChoice { cidrs, source });
    }
    let mut cidrs = Vec::new();
    let mut errors = Vec::new();
    for obj in &cluster.service_cidrs {
        for (i, text) in obj.cidrs.iter().enumerate() {
            match parse_service_cidr(text) {
                // kube-proxy collects the CIDRs of every object in a set.
                Ok(net) if !cidrs.contains(&net) => cidrs.push(net),
                Ok(_) => {}
                Err(msg) => errors.push(obj.loc.issue(&format!("spec.cidrs[{i}]"), msg)),
            }
        }
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let names = cluster
        .service_cidrs
        .iter()
        .map(|o| o.meta.name.to_string())
        .collect();
    Ok(ServiceCidrChoice {
        cidrs,
        source: ServiceCidrSource::Objects(names),
    })
}
