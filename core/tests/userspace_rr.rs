//! kube-proxy's `pkg/proxy/userspace/roundrobin_test.go` (kubernetes/kubernetes, commit
//! `15816b382ef2b81bd376fc2492062a8216e0a490`), case by case, against the `userspace` engine.
//!
//! The upstream tests drive a `LoadBalancerRR` holding every service port; here [`Lb`] holds one
//! [`Balancer`] per service port and turns `Endpoints` objects into per-port lists the way
//! kube-proxy's `BuildPortsToEndpointsMap` does (subset by subset, port by port, address by
//! address). Endpoint hosts are IPs: upstream's `endpointN` is `10.0.0.N` (`endpoint` alone is
//! `10.0.0.100`).
//!
//! Shuffling: kube-proxy shuffles each new list with Go's clock-seeded `math/rand`, and its
//! tests read the shuffled list back (`loadBalancer.services[svc].endpoints`) and pin every
//! pick relative to it. These tests do the same through `RoundRobin::order`, and run each
//! case under 24 seeds, so the sequences are checked against many different orders.
//!
//! Not converted: `TestValidateWorks` and `TestFilterWorks` check the helper that drops
//! endpoints with an empty host or a port ≤ 0 before they reach the balancer; svccore refuses
//! such addresses when it loads the objects, so no such endpoint reaches the engine.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use svccore::select::userspace::PickedBy;
use svccore::select::{Algorithm, Backend, Balancer, Options};

const SEEDS: std::ops::Range<u64> = 0..24;
const DEFAULT_TTL: u32 = 10800;

/// One subset of an `Endpoints` object: addresses × ports (`(name, port)`).
struct Subset<'a> {
    addresses: &'a [&'a str],
    ports: &'a [(&'a str, u16)],
}

/// An `Endpoints` object (namespace `testnamespace`).
struct Endpoints<'a> {
    name: &'a str,
    subsets: &'a [Subset<'a>],
}

fn host(h: &str) -> IpAddr {
    match h.strip_prefix("endpoint") {
        Some("") => "10.0.0.100".parse().unwrap(),
        Some(n) => format!("10.0.0.{n}").parse().unwrap(),
        None => h.parse().unwrap(),
    }
}

/// `"endpoint1:40"` → `10.0.0.1:40`.
fn ep(s: &str) -> SocketAddr {
    let (h, p) = s.rsplit_once(':').unwrap();
    SocketAddr::new(host(h), p.parse().unwrap())
}

fn client(last_octet: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last_octet])
}

/// `BuildPortsToEndpointsMap`: port name → endpoints, in the object's order.
fn ports_to_endpoints(e: &Endpoints) -> BTreeMap<String, Vec<Backend>> {
    let mut m: BTreeMap<String, Vec<Backend>> = BTreeMap::new();
    for s in e.subsets {
        for (name, port) in s.ports {
            for a in s.addresses {
                m.entry((*name).to_owned())
                    .or_default()
                    .push(Backend::new(SocketAddr::new(host(a), *port), 1));
            }
        }
    }
    m
}

/// `ns/name:port`, kube-proxy's `ServicePortName`.
fn svc(name: &str, port: &str) -> String {
    format!("testnamespace/{name}:{port}")
}

/// kube-proxy's `LoadBalancerRR` over every service port, one `Balancer` per port.
struct Lb {
    services: BTreeMap<String, Balancer>,
    seed: u64,
}

impl Lb {
    fn new(seed: u64) -> Self {
        Lb {
            services: BTreeMap::new(),
            seed,
        }
    }

    /// A fresh state, as `newServiceInternal` creates it.
    fn create(&self, key: &str, backends: &[Backend], affinity: Option<u32>) -> Balancer {
        let opts = Options {
            affinity_timeout: affinity,
            // A different shuffle per port, as one process-wide generator would give.
            seed: self.seed.wrapping_mul(1000).wrapping_add(key.len() as u64),
            ..Options::default()
        };
        Balancer::new(Algorithm::Userspace, backends, &opts).unwrap()
    }

    /// `NewService(svcPort, ClientIP, ttl)`.
    fn new_service_client_ip(&mut self, key: &str, ttl: u32) {
        match self.services.get_mut(key) {
            // An existing state changes its affinity type only (its ttl stays).
            Some(b) => b.userspace_mut().unwrap().set_client_ip_affinity(true),
            None => {
                let b = self.create(key, &[], Some(ttl));
                self.services.insert(key.to_owned(), b);
            }
        }
    }

    fn set(&mut self, key: &str, backends: &[Backend]) {
        match self.services.get_mut(key) {
            Some(b) => b.update(backends).unwrap(),
            None => {
                let b = self.create(key, backends, None);
                self.services.insert(key.to_owned(), b);
            }
        }
    }

    /// `OnEndpointsAdd` (only ever called here on a port without endpoints, where it is
    /// `OnEndpointsUpdate`'s changed-set case).
    fn on_endpoints_add(&mut self, e: &Endpoints) {
        for (port, list) in ports_to_endpoints(e) {
            self.set(&svc(e.name, &port), &list);
        }
    }

    /// `OnEndpointsUpdate(old, new)`: ports of `new` are set; ports only in `old` are reset.
    fn on_endpoints_update(&mut self, old: &Endpoints, new: &Endpoints) {
        let now = ports_to_endpoints(new);
        for (port, list) in &now {
            self.set(&svc(new.name, port), list);
        }
        for port in ports_to_endpoints(old).keys() {
            if !now.contains_key(port) {
                self.reset(&svc(old.name, port));
            }
        }
    }

    /// `OnEndpointsDelete`.
    fn on_endpoints_delete(&mut self, e: &Endpoints) {
        for port in ports_to_endpoints(e).keys() {
            self.reset(&svc(e.name, port));
        }
    }

    fn reset(&mut self, key: &str) {
        if let Some(b) = self.services.get_mut(key) {
            b.update(&[]).unwrap();
        }
    }

    /// `services[svc].endpoints`: the shuffled list.
    fn shuffled(&self, key: &str) -> Vec<SocketAddr> {
        let b = &self.services[key];
        b.userspace()
            .unwrap()
            .order()
            .iter()
            .map(|&i| b.backends()[i as usize].addr)
            .collect()
    }

    /// `NextEndpoint(svc, client, reset)`; `None` where kube-proxy returns an error.
    fn next(&mut self, key: &str, client: Option<IpAddr>, reset: bool) -> Option<SocketAddr> {
        let b = self.services.get_mut(key)?;
        // Upstream passes a nil address without affinity; any address does there.
        let c = client.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let (i, _) = b.userspace_mut().unwrap().next(c, 0.0, reset)?;
        Some(b.backends()[i].addr)
    }

    #[track_caller]
    fn expect(&mut self, key: &str, want: SocketAddr, client: Option<IpAddr>) {
        assert_eq!(
            self.next(key, client, false),
            Some(want),
            "{key} {client:?}"
        );
    }

    #[track_caller]
    fn expect_reset(&mut self, key: &str, want: SocketAddr, client: Option<IpAddr>) {
        assert_eq!(self.next(key, client, true), Some(want), "{key} {client:?}");
    }

    #[track_caller]
    fn expect_none(&mut self, key: &str) {
        assert_eq!(self.next(key, None, false), None, "{key}");
    }
}

#[track_caller]
fn assert_holds(shuffled: &[SocketAddr], want: &[&str]) {
    let mut got = shuffled.to_vec();
    got.sort();
    let mut w: Vec<SocketAddr> = want.iter().map(|s| ep(s)).collect();
    w.sort();
    assert_eq!(got, w);
}

#[test]
fn load_balance_fails_with_no_endpoints() {
    let mut lb = Lb::new(0);
    lb.expect_none(&svc("foo", "does-not-exist"));
}

#[test]
fn load_balance_works_with_single_endpoint() {
    for seed in SEEDS {
        let mut lb = Lb::new(seed);
        let s = svc("foo", "p");
        lb.expect_none(&s);
        lb.on_endpoints_add(&Endpoints {
            name: "foo",
            subsets: &[Subset {
                addresses: &["endpoint1"],
                ports: &[("p", 40)],
            }],
        });
        for _ in 0..4 {
            lb.expect(&s, ep("endpoint1:40"), None);
        }
    }
}

#[test]
fn load_balance_works_with_multiple_endpoints() {
    for seed in SEEDS {
        let mut lb = Lb::new(seed);
        let s = svc("foo", "p");
        lb.expect_none(&s);
        lb.on_endpoints_add(&Endpoints {
            name: "foo",
            subsets: &[Subset {
                addresses: &["endpoint"],
                ports: &[("p", 1), ("p", 2), ("p", 3)],
            }],
        });
        let sh = lb.shuffled(&s);
        assert_holds(&sh, &["endpoint:1", "endpoint:2", "endpoint:3"]);
        for i in [0, 1, 2, 0] {
            lb.expect(&s, sh[i], None);
        }
    }
}

#[test]
fn load_balance_works_with_multiple_endpoints_multiple_ports() {
    for seed in SEEDS {
        let mut lb = Lb::new(seed);
        let (p, q) = (svc("foo", "p"), svc("foo", "q"));
        lb.expect_none(&p);
        lb.on_endpoints_add(&Endpoints {
            name: "foo",
            subsets: &[
                Subset {
                    addresses: &["endpoint1", "endpoint2"],
                    ports: &[("p", 1), ("q", 2)],
                },
                Subset {
                    addresses: &["endpoint3"],
                    ports: &[("p", 3), ("q", 4)],
                },
            ],
        });
        let sh = lb.shuffled(&p);
        assert_holds(&sh, &["endpoint1:1", "endpoint2:1", "endpoint3:3"]);
        for i in [0, 1, 2, 0] {
            lb.expect(&p, sh[i], None);
        }
        let sh = lb.shuffled(&q);
        assert_holds(&sh, &["endpoint1:2", "endpoint2:2", "endpoint3:4"]);
        for i in [0, 1, 2, 0] {
            lb.expect(&q, sh[i], None);
        }
    }
}

#[test]
fn load_balance_works_with_multiple_endpoints_and_updates() {
    for seed in SEEDS {
        let mut lb = Lb::new(seed);
        let (p, q) = (svc("foo", "p"), svc("foo", "q"));
        lb.expect_none(&p);
        let v1 = Endpoints {
            name: "foo",
            subsets: &[
                Subset {
                    addresses: &["endpoint1"],
                    ports: &[("p", 1), ("q", 10)],
                },
                Subset {
                    addresses: &["endpoint2"],
                    ports: &[("p", 2), ("q", 20)],
                },
                Subset {
                    addresses: &["endpoint3"],
                    ports: &[("p", 3), ("q", 30)],
                },
            ],
        };
        lb.on_endpoints_add(&v1);
        let sh = lb.shuffled(&p);
        assert_holds(&sh, &["endpoint1:1", "endpoint2:2", "endpoint3:3"]);
        for i in [0, 1, 2, 0] {
            lb.expect(&p, sh[i], None);
        }
        let sh = lb.shuffled(&q);
        assert_holds(&sh, &["endpoint1:10", "endpoint2:20", "endpoint3:30"]);
        for i in [0, 1, 2, 0] {
            lb.expect(&q, sh[i], None);
        }

        // One fewer endpoint: the round robin starts again at the new list's beginning.
        let v2 = Endpoints {
            name: "foo",
            subsets: &[
                Subset {
                    addresses: &["endpoint4"],
                    ports: &[("p", 4), ("q", 40)],
                },
                Subset {
                    addresses: &["endpoint5"],
                    ports: &[("p", 5), ("q", 50)],
                },
            ],
        };
        lb.on_endpoints_update(&v1, &v2);
        let sh = lb.shuffled(&p);
        assert_holds(&sh, &["endpoint4:4", "endpoint5:5"]);
        for i in [0, 1, 0, 1] {
            lb.expect(&p, sh[i], None);
        }
        let sh = lb.shuffled(&q);
        assert_holds(&sh, &["endpoint4:40", "endpoint5:50"]);
        for i in [0, 1, 0, 1] {
            lb.expect(&q, sh[i], None);
        }

        // Clear endpoints.
        let v3 = Endpoints {
            name: "foo",
            subsets: &[],
        };
        lb.on_endpoints_update(&v2, &v3);
        lb.expect_none(&p);
    }
}

#[test]
fn load_balance_works_with_service_removal() {
    for seed in SEEDS {
        let mut lb = Lb::new(seed);
        let (foo, bar) = (svc("foo", "p"), svc("bar", "p"));
        lb.expect_none(&foo);
        let e1 = Endpoints {
            name: "foo",
            subsets: &[Subset {
                addresses: &["endpoint1", "endpoint2", "endpoint3"],
                ports: &[("p", 123)],
            }],
        };
        let e2 = Endpoints {
            name: "bar",
            subsets: &[Subset {
                addresses: &["endpoint4", "endpoint5", "endpoint6"],
                ports: &[("p", 456)],
            }],
        };
        lb.on_endpoints_add(&e1);
        lb.on_endpoints_add(&e2);
        let shf = lb.shuffled(&foo);
        for i in [0, 1, 2, 0, 1] {
            lb.expect(&foo, shf[i], None);
        }
        let shb = lb.shuffled(&bar);
        for i in [0, 1, 2, 0, 1] {
            lb.expect(&bar, shb[i], None);
        }

        lb.on_endpoints_delete(&e1);
        lb.expect_none(&foo);
        // bar is still there, and the round robin continues where it left off.
        for i in [2, 0, 1, 2] {
            lb.expect(&bar, shb[i], None);
        }
    }
}

#[test]
fn sticky_load_balance_works_with_new_service_called_first() {
    for seed in SEEDS {
        let mut lb = Lb::new(seed);
        let s = svc("foo", "");
        lb.expect_none(&s);
        lb.new_service_client_ip(&s, DEFAULT_TTL);
        lb.on_endpoints_add(&three_subsets());
        let (c1, c2, c3) = (Some(client(1)), Some(client(2)), Some(client(3)));
        let ep1 = lb.next(&s, c1, false).unwrap();
        for _ in 0..3 {
            lb.expect(&s, ep1, c1);
        }
        let ep2 = lb.next(&s, c2, false).unwrap();
        for _ in 0..3 {
            lb.expect(&s, ep2, c2);
        }
        let ep3 = lb.next(&s, c3, false).unwrap();
        for _ in 0..3 {
            lb.expect(&s, ep3, c3);
        }
        for _ in 0..2 {
            lb.expect(&s, ep1, c1);
            lb.expect(&s, ep2, c2);
            lb.expect(&s, ep3, c3);
        }
        // Beyond upstream: the three clients took the three endpoints in the shuffled order.
        let sh = lb.shuffled(&s);
        assert_eq!([ep1, ep2, ep3], [sh[0], sh[1], sh[2]]);
    }
}

/// Three single-port subsets `endpoint1:1`, `endpoint2:2`, `endpoint3:3` of the unnamed port.
fn three_subsets() -> Endpoints<'static> {
    Endpoints {
        name: "foo",
        subsets: &[
            Subset {
                addresses: &["endpoint1"],
                ports: &[("", 1)],
            },
            Subset {
                addresses: &["endpoint2"],
                ports: &[("", 2)],
            },
            Subset {
                addresses: &["endpoint3"],
                ports: &[("", 3)],
            },
        ],
    }
}

#[test]
fn sticky_load_balance_works_with_new_service_called_second() {
    for seed in SEEDS {
        let mut lb = Lb::new(seed);
        let s = svc("foo", "");
        lb.expect_none(&s);
        // Endpoints before NewService: the state is created without affinity and the default
        // timeout, then NewService turns ClientIP on.
        lb.on_endpoints_add(&Endpoints {
            name: "foo",
            subsets: &[
                Subset {
                    addresses: &["endpoint1"],
                    ports: &[("", 1)],
                },
                Subset {
                    addresses: &["endpoint2"],
                    ports: &[("", 2)],
                },
            ],
        });
        lb.new_service_client_ip(&s, DEFAULT_TTL);
        let (c1, c2, c3) = (Some(client(1)), Some(client(2)), Some(client(3)));
        let ep1 = lb.next(&s, c1, false).unwrap();
        for _ in 0..3 {
            lb.expect(&s, ep1, c1);
        }
        let ep2 = lb.next(&s, c2, false).unwrap();
        for _ in 0..3 {
            lb.expect(&s, ep2, c2);
        }
        let ep3 = lb.next(&s, c3, false).unwrap();
        for _ in 0..3 {
            lb.expect(&s, ep3, c3);
        }
        for _ in 0..2 {
            lb.expect(&s, ep1, c1);
            lb.expect(&s, ep2, c2);
            lb.expect(&s, ep3, c3);
        }
        // Two endpoints, three clients: the third wraps around to the first.
        assert_eq!(ep3, ep1);
    }
}

#[test]
fn sticky_load_balance_works_with_multiple_endpoints_remove_one() {
    for seed in SEEDS {
        let mut lb = Lb::new(seed);
        let s = svc("foo", "");
        let c: Vec<Option<IpAddr>> = (1..=6).map(|i| Some(client(i))).collect();
        lb.expect_none(&s);
        lb.new_service_client_ip(&s, DEFAULT_TTL);
        let one_host = |ports: &'static [(&'static str, u16)]| Endpoints {
            name: "foo",
            subsets: Box::leak(Box::new([Subset {
                addresses: &["endpoint"],
                ports,
            }])),
        };
        let v1 = one_host(&[("", 1), ("", 2), ("", 3)]);
        lb.on_endpoints_add(&v1);
        let sh = lb.shuffled(&s);
        lb.expect(&s, sh[0], c[0]);
        let mut c1_ep = sh[0];
        lb.expect(&s, sh[0], c[0]);
        lb.expect(&s, sh[1], c[1]);
        let mut c2_ep = sh[1];
        lb.expect(&s, sh[1], c[1]);
        lb.expect(&s, sh[2], c[2]);
        let mut c3_ep = sh[2];

        let v2 = one_host(&[("", 1), ("", 2)]);
        lb.on_endpoints_update(&v1, &v2);
        let sh = lb.shuffled(&s);
        // The client pinned to endpoint:3 lost its entry and takes the new list's first.
        let gone = ep("endpoint:3");
        if c1_ep == gone {
            c1_ep = sh[0];
        } else if c2_ep == gone {
            c2_ep = sh[0];
        } else if c3_ep == gone {
            c3_ep = sh[0];
        }
        lb.expect(&s, c1_ep, c[0]);
        lb.expect(&s, c2_ep, c[1]);
        lb.expect(&s, c3_ep, c[2]);

        let v3 = one_host(&[("", 1), ("", 2), ("", 4)]);
        lb.on_endpoints_update(&v2, &v3);
        let sh = lb.shuffled(&s);
        lb.expect(&s, c1_ep, c[0]);
        lb.expect(&s, c2_ep, c[1]);
        lb.expect(&s, c3_ep, c[2]);
        lb.expect(&s, sh[0], c[3]);
        lb.expect(&s, sh[1], c[4]);
        lb.expect(&s, sh[2], c[5]);
    }
}

#[test]
fn sticky_load_balance_works_with_multiple_endpoints_and_updates() {
    for seed in SEEDS {
        let mut lb = Lb::new(seed);
        let s = svc("foo", "");
        let (c1, c2, c3) = (Some(client(1)), Some(client(2)), Some(client(3)));
        lb.expect_none(&s);
        lb.new_service_client_ip(&s, DEFAULT_TTL);
        let v1 = Endpoints {
            name: "foo",
            subsets: &[Subset {
                addresses: &["endpoint"],
                ports: &[("", 1), ("", 2), ("", 3)],
            }],
        };
        lb.on_endpoints_add(&v1);
        let sh = lb.shuffled(&s);
        lb.expect(&s, sh[0], c1);
        lb.expect(&s, sh[0], c1);
        lb.expect(&s, sh[1], c2);
        lb.expect(&s, sh[1], c2);
        lb.expect(&s, sh[2], c3);
        lb.expect(&s, sh[0], c1);
        lb.expect(&s, sh[1], c2);

        // A new set: every old entry's endpoint left, the round robin starts again.
        let v2 = Endpoints {
            name: "foo",
            subsets: &[Subset {
                addresses: &["endpoint"],
                ports: &[("", 4), ("", 5)],
            }],
        };
        lb.on_endpoints_update(&v1, &v2);
        let sh = lb.shuffled(&s);
        lb.expect(&s, sh[0], c1);
        lb.expect(&s, sh[1], c2);
        lb.expect(&s, sh[0], c1);
        lb.expect(&s, sh[0], c1);
        lb.expect(&s, sh[1], c2);
        lb.expect(&s, sh[1], c2);

        let v3 = Endpoints {
            name: "foo",
            subsets: &[],
        };
        lb.on_endpoints_update(&v2, &v3);
        lb.expect_none(&s);
    }
}

#[test]
fn sticky_load_balance_works_with_service_removal() {
    for seed in SEEDS {
        let mut lb = Lb::new(seed);
        let (foo, bar) = (svc("foo", ""), svc("bar", ""));
        let (c1, c2, c3) = (Some(client(1)), Some(client(2)), Some(client(3)));
        lb.expect_none(&foo);
        lb.new_service_client_ip(&foo, DEFAULT_TTL);
        let e1 = Endpoints {
            name: "foo",
            subsets: &[Subset {
                addresses: &["endpoint"],
                ports: &[("", 1), ("", 2), ("", 3)],
            }],
        };
        lb.new_service_client_ip(&bar, DEFAULT_TTL);
        let e2 = Endpoints {
            name: "bar",
            subsets: &[Subset {
                addresses: &["endpoint"],
                ports: &[("", 4), ("", 5)],
            }],
        };
        lb.on_endpoints_add(&e1);
        lb.on_endpoints_add(&e2);

        let shf = lb.shuffled(&foo);
        for (i, c) in [
            (0, c1),
            (1, c2),
            (2, c3),
            (0, c1),
            (0, c1),
            (1, c2),
            (1, c2),
            (2, c3),
            (2, c3),
        ] {
            lb.expect(&foo, shf[i], c);
        }
        let shb = lb.shuffled(&bar);
        for (i, c) in [(0, c1), (1, c2), (0, c1), (0, c1), (1, c2), (1, c2)] {
            lb.expect(&bar, shb[i], c);
        }

        lb.on_endpoints_delete(&e1);
        lb.expect_none(&foo);

        // bar is untouched: same order, same affinity.
        let shb = lb.shuffled(&bar);
        for (i, c) in [(0, c1), (1, c2), (0, c1), (1, c2), (0, c1), (0, c1)] {
            lb.expect(&bar, shb[i], c);
        }
    }
}

#[test]
fn sticky_load_balance_works_with_endpoint_fails() {
    for seed in SEEDS {
        let mut lb = Lb::new(seed);
        let s = svc("foo", "");
        lb.expect_none(&s);
        lb.new_service_client_ip(&s, DEFAULT_TTL);
        lb.on_endpoints_add(&three_subsets());
        let (c1, c2, c3) = (Some(client(1)), Some(client(2)), Some(client(3)));
        let ep1 = lb.next(&s, c1, false).unwrap();
        let ep2 = lb.next(&s, c2, false).unwrap();
        let ep3 = lb.next(&s, c3, false).unwrap();

        // A retry skips the client's entry and takes the next endpoint in turn.
        lb.expect_reset(&s, ep1, c1);
        lb.expect_reset(&s, ep2, c1);
        lb.expect_reset(&s, ep3, c1);

        lb.expect(&s, ep2, c2);
        lb.expect_reset(&s, ep1, c2);
        lb.expect_reset(&s, ep2, c3);
        lb.expect_reset(&s, ep3, c1);
        lb.expect_reset(&s, ep1, c2);
        lb.expect_reset(&s, ep2, c3);
    }
}

// Beyond upstream: the rules of roundrobin.go the upstream tests leave unpinned.

fn backends(hosts: &[u8]) -> Vec<Backend> {
    hosts
        .iter()
        .map(|h| Backend::new(SocketAddr::new(IpAddr::from([10, 0, 0, *h]), 80), 1))
        .collect()
}

fn userspace(list: &[Backend], affinity: Option<u32>, seed: u64) -> Balancer {
    let opts = Options {
        affinity_timeout: affinity,
        seed,
        ..Options::default()
    };
    Balancer::new(Algorithm::Userspace, list, &opts).unwrap()
}

fn pick(b: &mut Balancer, c: IpAddr, now: f64) -> (SocketAddr, PickedBy) {
    let (i, by) = b.userspace_mut().unwrap().next(c, now, false).unwrap();
    (b.backends()[i].addr, by)
}

fn order(b: &Balancer) -> Vec<SocketAddr> {
    b.userspace()
        .unwrap()
        .order()
        .iter()
        .map(|&i| b.backends()[i as usize].addr)
        .collect()
}

/// An update listing the same endpoints in another order changes nothing: the proxy's order,
/// its index and the affinity table stay (`slicesEquiv` on sorted copies).
#[test]
fn update_with_the_same_set_keeps_order_index_and_affinity() {
    for seed in SEEDS {
        let list = backends(&[1, 2, 3, 4]);
        let mut b = userspace(&list, Some(100), seed);
        let before = order(&b);
        let (e, _) = pick(&mut b, client(1), 0.0);
        let mut reversed = list.clone();
        reversed.reverse();
        b.update(&reversed).unwrap();
        assert_eq!(order(&b), before);
        assert_eq!(b.userspace().unwrap().index(), 1);
        assert_eq!(pick(&mut b, client(1), 1.0), (e, PickedBy::Affinity));
        assert_eq!(
            pick(&mut b, client(2), 1.0),
            (before[1], PickedBy::RoundRobin)
        );
    }
}

/// The affinity timeout: an entry is live while `int(now − lastUsed) < ttl`, and every hit
/// refreshes `lastUsed`; the index does not move on a hit.
#[test]
fn affinity_lives_for_the_timeout_after_the_last_use() {
    let mut b = userspace(&backends(&[1, 2, 3]), Some(60), 5);
    let o = order(&b);
    assert_eq!(pick(&mut b, client(1), 0.0), (o[0], PickedBy::RoundRobin));
    assert_eq!(pick(&mut b, client(1), 59.5), (o[0], PickedBy::Affinity));
    assert_eq!(pick(&mut b, client(1), 119.0), (o[0], PickedBy::Affinity));
    assert_eq!(pick(&mut b, client(2), 119.0), (o[1], PickedBy::RoundRobin));
    // 60 s after the last use: expired; the client takes the next in turn and is re-pinned.
    assert_eq!(pick(&mut b, client(1), 179.0), (o[2], PickedBy::RoundRobin));
    assert_eq!(pick(&mut b, client(1), 180.0), (o[2], PickedBy::Affinity));
}

/// A changed set keeps the entries of endpoints that stay, whatever the new order; an empty
/// list drops every entry, so the same endpoints coming back start with an empty table.
#[test]
fn empty_update_drops_every_entry_and_a_changed_set_only_departed_ones() {
    for seed in SEEDS {
        let mut b = userspace(&backends(&[1, 2, 3]), Some(100), seed);
        let o = order(&b);
        for c in 1..=3 {
            pick(&mut b, client(c), 0.0);
        }
        // Drop o[2]: clients 1 and 2 keep theirs, client 3's entry goes.
        let kept: Vec<Backend> = backends(&[1, 2, 3])
            .into_iter()
            .filter(|x| x.addr != o[2])
            .collect();
        b.update(&kept).unwrap();
        assert_eq!(b.userspace().unwrap().affinity_len(), 2);
        assert_eq!(pick(&mut b, client(1), 1.0), (o[0], PickedBy::Affinity));
        assert_eq!(pick(&mut b, client(2), 1.0), (o[1], PickedBy::Affinity));
        let new = order(&b);
        assert_eq!(pick(&mut b, client(3), 1.0), (new[0], PickedBy::RoundRobin));

        b.update(&[]).unwrap();
        assert_eq!(b.userspace().unwrap().affinity_len(), 0);
        assert!(b
            .userspace_mut()
            .unwrap()
            .next(client(1), 2.0, false)
            .is_none());
        b.update(&kept).unwrap();
        let again = order(&b);
        assert_eq!(
            pick(&mut b, client(1), 3.0),
            (again[0], PickedBy::RoundRobin)
        );
    }
}

/// `NewService` on a state the endpoints created keeps the default timeout, whatever the
/// Service asks for (kube-proxy changes only the affinity type of an existing state).
#[test]
fn new_service_after_endpoints_keeps_the_default_timeout() {
    let mut lb = Lb::new(0);
    let s = svc("foo", "");
    lb.on_endpoints_add(&three_subsets());
    lb.new_service_client_ip(&s, 60);
    assert_eq!(lb.services[&s].userspace().unwrap().ttl_seconds(), 10800);
    let mut first = Lb::new(0);
    first.new_service_client_ip(&s, 60);
    first.on_endpoints_add(&three_subsets());
    assert_eq!(first.services[&s].userspace().unwrap().ttl_seconds(), 60);
}

/// The seed decides the order only: the same seed gives the same order and picks, and over
/// seeds every endpoint comes first about equally often (kube-proxy's shuffle is uniform).
#[test]
fn seed_decides_the_order_and_the_first_endpoint_is_uniform() {
    let list = backends(&[1, 2, 3, 4]);
    assert_eq!(
        order(&userspace(&list, None, 9)),
        order(&userspace(&list, None, 9))
    );
    let mut first = [0u32; 4];
    for seed in 0..8000 {
        let mut b = userspace(&list, None, seed);
        let (i, _) = b
            .userspace_mut()
            .unwrap()
            .next(client(1), 0.0, false)
            .unwrap();
        first[i] += 1;
    }
    // 2000 expected each; 5 standard deviations is about ±195.
    assert!(
        first.iter().all(|&c| (1800..2200).contains(&c)),
        "{first:?}"
    );
}

/// `Balancer::pick` is `NextEndpoint` without reset, returning caller indices.
#[test]
fn balancer_pick_follows_the_shuffled_order() {
    use svccore::select::Connection;
    let list = backends(&[1, 2, 3]);
    let mut b = userspace(&list, None, 3);
    let o: Vec<usize> = b
        .userspace()
        .unwrap()
        .order()
        .iter()
        .map(|&i| i as usize)
        .collect();
    let picks: Vec<usize> = (0..6)
        .map(|k| b.pick(&Connection::new(client(k), 1, 0.0)).unwrap())
        .collect();
    assert_eq!(picks, [o[0], o[1], o[2], o[0], o[1], o[2]]);
}
