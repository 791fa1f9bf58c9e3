//! Optional runtime state of the IPVS table: connection counters, stats and rates per real
//! server. svccore does not simulate traffic here; a caller (the scheduler simulation, or a user
//! replaying a real node) supplies it. Absent entries read as zero.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use crate::model::Protocol;

/// The identity of an address virtual server: protocol, VIP, port (kube-proxy's
/// `JoinHostPort(addr, port) + "/" + protocol`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VsId {
    /// TCP, UDP or SCTP.
    pub protocol: Protocol,
    /// The virtual address.
    pub addr: IpAddr,
    /// The virtual port.
    pub port: u16,
}

impl VsId {
    /// Builds an id.
    pub fn new(protocol: Protocol, addr: IpAddr, port: u16) -> Self {
        VsId {
            protocol,
            addr,
            port,
        }
    }
}

impl std::fmt::Display for VsId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}",
            SocketAddr::new(self.addr, self.port),
            self.protocol.as_api()
        )
    }
}

/// Five 64-bit counters as ipvsadm prints them: totals for `--stats` (conns, inpkts, outpkts,
/// inbytes, outbytes) or per-second rates for `--rate` (cps, inpps, outpps, inbps, outbps).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters5(pub [u64; 5]);

impl Counters5 {
    fn add(&mut self, o: &Counters5) {
        for (a, b) in self.0.iter_mut().zip(o.0) {
            *a = a.saturating_add(b);
        }
    }
}

/// Runtime state of one real server of one virtual server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RsState {
    /// ActiveConn (TCP ESTABLISHED).
    pub active_conns: u32,
    /// InActConn (other TCP states, UDP).
    pub inact_conns: u32,
    /// Persistence templates pointing at this real server.
    pub persist_conns: u32,
    /// `--stats` counters.
    pub stats: Counters5,
    /// `--rate` counters.
    pub rates: Counters5,
}

/// Runtime state of the IPVS table, keyed by (virtual server, real server).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpvsState {
    /// Per real server.
    pub real_servers: HashMap<(VsId, SocketAddr), RsState>,
    /// Per virtual server `--stats` totals; when absent, the sum over its listed real servers.
    pub service_stats: HashMap<VsId, Counters5>,
    /// Per virtual server `--rate`; when absent, the sum over its listed real servers.
    pub service_rates: HashMap<VsId, Counters5>,
}

impl IpvsState {
    /// An empty state (every counter zero).
    pub fn new() -> Self {
        IpvsState::default()
    }

    /// Sets the connection counts of one real server.
    pub fn set_conns(&mut self, vs: VsId, rs: SocketAddr, active: u32, inactive: u32) {
        let e = self.real_servers.entry((vs, rs)).or_default();
        e.active_conns = active;
        e.inact_conns = inactive;
    }

    /// The state of one real server (zeros when absent).
    pub fn rs(&self, vs: &VsId, rs: &SocketAddr) -> RsState {
        // A tuple key cannot be borrowed piecewise; the clone is two small values.
        self.real_servers
            .get(&(vs.clone(), *rs))
            .copied()
            .unwrap_or_default()
    }

    pub(crate) fn service_totals(
        &self,
        vs: &VsId,
        rss: impl Iterator<Item = SocketAddr>,
        rates: bool,
    ) -> Counters5 {
        let explicit = if rates {
            self.service_rates.get(vs)
        } else {
            self.service_stats.get(vs)
        };
        if let Some(c) = explicit {
            return *c;
        }
        let mut sum = Counters5::default();
        for rs in rss {
            let s = self.rs(vs, &rs);
            sum.add(if rates { &s.rates } else { &s.stats });
        }
        sum
    }
}
