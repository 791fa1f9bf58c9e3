//! `Balancer`: one selection algorithm over one backend list (the core's `select::Balancer`),
//! as Python's `svccore.Balancer`.

use std::net::{IpAddr, SocketAddr};

use svccore::select::{AffinityKind, Algorithm, Backend, Balancer, Connection, Options};
use wasm_bindgen::prelude::*;

use crate::args::Args;
use crate::error::{arg_error, to_js_error_at, JsResult};

/// A backend selection algorithm over a fixed set of backends, picking exactly as the real
/// engine does: any of `names().algorithms`: `iptables` (kube-proxy's random cascade), the IPVS
/// schedulers (`names().ipvsSchedulers`; kernel list order: newest first), `maglev` and
/// `ring-hash`. Every random draw
/// comes from `seed`: the same seed gives the same picks.
///
/// ```js
/// const b = new Balancer("rr", ["10.0.0.1:80", "10.0.0.2:80"], { affinityTimeout: 10800 });
/// b.pick("192.0.2.1");           // "10.0.0.2:80"
/// b.pick("192.0.2.1", 40001, 5); // the same: persistence
/// ```
#[wasm_bindgen(js_name = Balancer)]
#[derive(Debug)]
pub struct JsBalancer {
    inner: Balancer,
    names: Vec<String>,
}

#[wasm_bindgen(js_class = Balancer)]
impl JsBalancer {
    /// `algorithm`: `iptables`, `rr`, `wrr`, `lc`, `wlc`, `sed`, `nq`, `sh`, `dh`, `mh`,
    /// `maglev`, `ring-hash`. `backends`: `"ip:port"` strings (`[ip]:port` for IPv6).
    /// Options: `weights` (one per backend, default 1; 0 drains), `tableSize` (Maglev prime or
    /// `mh` size), `flags` (`"mh-port"`, or a list), `seed`, `affinityTimeout` (ClientIP
    /// affinity in the engine's own semantics), `affinity` (`recent`, `persistence`, `lru`),
    /// `hashClientPort`. Throws an `invalid-argument` error whose `path` names the argument.
    #[wasm_bindgen(constructor)]
    pub fn new(
        algorithm: &str,
        backends: Vec<String>,
        #[wasm_bindgen(unchecked_optional_param_type = "BalancerOptions")] options: JsValue,
    ) -> JsResult<JsBalancer> {
        let args = Args::from_js(
            &options,
            &[
                "weights",
                "tableSize",
                "flags",
                "seed",
                "affinityTimeout",
                "affinity",
                "hashClientPort",
            ],
        )?;
        let algorithm: Algorithm = algorithm
            .parse()
            .map_err(|e| to_js_error_at(&e, "algorithm"))?;
        if backends.is_empty() {
            return Err(arg_error(
                "backends",
                "no backends: give at least one \"ip:port\"",
            ));
        }
        let weights = args.ints("weights", u64::from(u32::MAX))?;
        if let Some(w) = &weights {
            if w.len() != backends.len() {
                return Err(arg_error(
                    "weights",
                    format!("{} weights for {} backends", w.len(), backends.len()),
                ));
            }
        }
        let mut list = Vec::with_capacity(backends.len());
        for (i, s) in backends.iter().enumerate() {
            let addr: SocketAddr = s.trim().parse().map_err(|_| {
                arg_error(
                    &format!("backends[{i}]"),
                    format!("backend {s:?} is not ip:port (use [ip]:port for IPv6)"),
                )
            })?;
            list.push(Backend::new(
                addr,
                weights.as_ref().map_or(1, |w| w[i] as u32),
            ));
        }
        let affinity_kind = match args.str("affinity")?.as_deref() {
            None => None,
            Some("recent") => Some(AffinityKind::Recent),
            Some("persistence") => Some(AffinityKind::Persistence),
            Some("lru") => Some(AffinityKind::Lru),
            Some(o) => {
                return Err(arg_error(
                    "affinity",
                    format!("unknown affinity {o:?}: expected recent, persistence or lru"),
                ))
            }
        };
        let mut opts = Options {
            flags: args
                .strings("flags")?
                .unwrap_or_default()
                .join(",")
                .parse()
                .map_err(|e| to_js_error_at(&e, "flags"))?,
            seed: args.int("seed", 0, (1 << 53) - 1)?.unwrap_or(0),
            affinity_timeout: args.int("affinityTimeout", 1, 86_400)?.map(|t| t as u32),
            affinity_kind,
            hash_client_port: args.bool("hashClientPort")?.unwrap_or(false),
            ..Options::default()
        };
        if let Some(m) = args.int("tableSize", 1, 5_000_011)? {
            if algorithm == Algorithm::Mh {
                opts.mh_table_size = m as u32;
            } else {
                opts.maglev_table_size = m as u32;
            }
        }
        let inner = Balancer::new(algorithm, &list, &opts).map_err(|e| to_js_error_at(&e, ""))?;
        Ok(JsBalancer {
            inner,
            names: backends,
        })
    }

    /// The backends, as given.
    #[wasm_bindgen(getter)]
    pub fn backends(&self) -> Vec<String> {
        self.names.clone()
    }

    /// The algorithm's name.
    #[wasm_bindgen(getter)]
    pub fn algorithm(&self) -> String {
        self.inner.algorithm().name().to_owned()
    }

    /// Picks the backend (`"ip:port"`, as given) for a new connection from `clientIp` (and
    /// `clientPort`) at time `now` (seconds, for affinity); `null` when nothing can be picked
    /// (every backend drained, or a hash slot on a drained backend without fallback).
    pub fn pick(
        &mut self,
        #[wasm_bindgen(js_name = clientIp)] client_ip: &str,
        #[wasm_bindgen(js_name = clientPort)] client_port: Option<u16>,
        now: Option<f64>,
    ) -> JsResult<Option<String>> {
        Ok(self
            .pick_index(client_ip, client_port, now)?
            .map(|i| self.names[i].clone()))
    }

    /// Like `pick`, returning the backend's index (or `null`).
    #[wasm_bindgen(js_name = pickIndex)]
    pub fn pick_index(
        &mut self,
        #[wasm_bindgen(js_name = clientIp)] client_ip: &str,
        #[wasm_bindgen(js_name = clientPort)] client_port: Option<u16>,
        now: Option<f64>,
    ) -> JsResult<Option<usize>> {
        let ip: IpAddr = client_ip
            .trim()
            .parse()
            .map_err(|_| arg_error("clientIp", format!("{client_ip:?} is not an IP address")))?;
        let now = now.unwrap_or(0.0);
        if !now.is_finite() {
            return Err(arg_error("now", "now must be a finite number of seconds"));
        }
        Ok(self
            .inner
            .pick(&Connection::new(ip, client_port.unwrap_or(0), now)))
    }
}
