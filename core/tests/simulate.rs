//! `simulate` on the bundled examples: distributions, affinity, policy, disruption.

use svccore::select::Algorithm;
use svccore::simulate::{render_text, simulate, SimulateOptions, Source};
use svccore::{Cluster, Error, Loader};

fn example(name: &str) -> Cluster {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name);
    let mut l = Loader::new();
    l.add_str(Some(name), &std::fs::read_to_string(p).unwrap())
        .unwrap();
    l.finish().unwrap()
}

fn opts(service: &str, alg: &str) -> SimulateOptions {
    SimulateOptions {
        service: service.into(),
        algorithm: alg.parse().unwrap(),
        ..Default::default()
    }
}

#[test]
fn rr_spreads_exactly_evenly() {
    let r = simulate(
        &example("nginx-study.yaml"),
        &SimulateOptions {
            connections: 3000,
            ..opts("study/service-clusterip", "rr")
        },
    )
    .unwrap();
    assert!(r.endpoints.iter().all(|e| e.picks == 1000), "{r:#?}");
    assert_eq!(r.balance, 1.0);
}

/// kube-proxy's userspace proxy: a round robin over its shuffled list, so every endpoint gets
/// exactly its turn and the picks cycle with the list's period.
#[test]
fn userspace_round_robin_cycles_through_the_shuffled_list() {
    let r = simulate(
        &example("nginx-study.yaml"),
        &SimulateOptions {
            connections: 3000,
            samples: 30,
            ..opts("study/service-clusterip", "userspace")
        },
    )
    .unwrap();
    assert_eq!(r.algorithm, "userspace");
    assert!(r.endpoints.iter().all(|e| e.picks == 1000), "{r:#?}");
    let seq: Vec<usize> = r.samples.iter().map(|s| s.endpoint.unwrap()).collect();
    let mut first = seq[..3].to_vec();
    first.sort_unstable();
    assert_eq!(first, [0, 1, 2]);
    assert!(
        seq.iter().enumerate().all(|(k, &e)| e == seq[k % 3]),
        "{seq:?}"
    );
}

/// The userspace proxy balances over every ready endpoint: externalTrafficPolicy: Local (and
/// the rest of the later modes' policies) does not apply, and the report says so.
#[test]
fn userspace_ignores_external_traffic_policy_local() {
    let r = simulate(
        &example("nginx-study.yaml"),
        &SimulateOptions {
            node: Some("master".into()),
            source: Source::External,
            connections: 900,
            ..opts("study/service-loadbalancer", "userspace")
        },
    )
    .unwrap();
    assert_eq!((r.dropped, r.rejected, r.endpoints.len()), (0, 0, 3));
    assert!(r.endpoints.iter().all(|e| e.picks == 300), "{r:#?}");
    assert!(r.note.unwrap().contains("traffic policies"));
}

#[test]
fn iptables_cascade_matches_its_exact_probabilities_statistically() {
    let n = 60_000u32;
    let r = simulate(
        &example("nginx-study.yaml"),
        &SimulateOptions {
            connections: n,
            ..opts("study/service-clusterip", "iptables")
        },
    )
    .unwrap();
    for e in &r.endpoints {
        let p = e.expected_share;
        assert!((p - 1.0 / 3.0).abs() < 1e-6, "kernel-quantised 1/3: {p}");
        // 5 standard deviations of a binomial share.
        let sd = (p * (1.0 - p) / f64::from(n)).sqrt();
        assert!(
            (e.share - p).abs() < 5.0 * sd,
            "{} share {} vs {p}",
            e.endpoint,
            e.share
        );
    }
}

#[test]
fn client_ip_affinity_keeps_every_client_on_one_pod() {
    for alg in ["iptables", "nftables", "userspace", "rr", "wlc", "maglev"] {
        let r = simulate(
            &example("nginx-affinity.yaml"),
            &SimulateOptions {
                clients: 50,
                connections: 5000,
                ..opts("study/service-clusterip", alg)
            },
        )
        .unwrap();
        let a = r.affinity.as_ref().unwrap();
        assert_eq!(a.timeout_seconds, 10800);
        assert_eq!(a.clients_pinned, a.clients, "{alg}: {}", render_text(&r));
        assert_eq!(a.broken, 0);
        assert!(a.hits > 4000);
        // ... and the clients still spread over the three pods.
        assert!(r.endpoints.iter().all(|e| e.clients > 0), "{alg}: {r:#?}");
    }
}

#[test]
fn nftables_numgen_matches_its_exact_shares_statistically() {
    let n = 60_000u32;
    let r = simulate(
        &example("nginx-study.yaml"),
        &SimulateOptions {
            connections: n,
            ..opts("study/service-clusterip", "nftables")
        },
    )
    .unwrap();
    assert_eq!(r.algorithm, "nftables");
    let exact = [1_431_655_766.0, 1_431_655_765.0, 1_431_655_765.0].map(|d| d / 4_294_967_296.0);
    for (e, p) in r.endpoints.iter().zip(exact) {
        assert_eq!(
            e.expected_share, p,
            "reciprocal_scale share of {}",
            e.endpoint
        );
        let sd = (p * (1.0 - p) / f64::from(n)).sqrt();
        assert!(
            (e.share - p).abs() < 5.0 * sd,
            "{} share {} vs {p}",
            e.endpoint,
            e.share
        );
    }
}

#[test]
fn affinity_expires_after_the_timeout() {
    // 100 clients, one connection every 2 s: a client returns after ~200 s on average,
    // far beyond a 10 s timeout, so the cascade re-draws and clients wander.
    let r = simulate(
        &example("nginx-affinity.yaml"),
        &SimulateOptions {
            clients: 100,
            connections: 3000,
            duration: 6000.0,
            affinity_timeout: Some(10),
            ..opts("study/service-clusterip", "iptables")
        },
    )
    .unwrap();
    let a = r.affinity.unwrap();
    assert_eq!(a.timeout_seconds, 10);
    assert!(a.clients_pinned < a.clients / 2, "{a:?}");
}

#[test]
fn etp_local_without_local_endpoint_drops_in_iptables_and_falls_back_in_ipvs() {
    let c = example("nginx-study.yaml");
    let base = SimulateOptions {
        node: Some("master".into()),
        source: Source::External,
        connections: 900,
        ..opts("study/service-loadbalancer", "iptables")
    };
    let r = simulate(&c, &base).unwrap();
    assert_eq!(r.dropped, 900);
    assert!(r.note.unwrap().contains("dropped"));
    let nft = SimulateOptions {
        algorithm: Algorithm::Nftables,
        ..base.clone()
    };
    assert_eq!(simulate(&c, &nft).unwrap().dropped, 900);
    let r = simulate(
        &c,
        &SimulateOptions {
            algorithm: Algorithm::Rr,
            ..base.clone()
        },
    )
    .unwrap();
    assert_eq!(r.dropped, 0);
    assert_eq!(r.endpoints.len(), 3);
    assert!(r.note.unwrap().contains("falls back"));
    // From a pod, the cluster IP ignores ETP.
    let r = simulate(
        &c,
        &SimulateOptions {
            source: Source::Pod,
            ..base.clone()
        },
    )
    .unwrap();
    assert_eq!((r.dropped, r.endpoints.len()), (0, 3));
    // On node2 external traffic stays on the local pod.
    let r = simulate(
        &c,
        &SimulateOptions {
            node: Some("node2".into()),
            ..base
        },
    )
    .unwrap();
    assert_eq!(r.endpoints.len(), 1);
    assert_eq!(r.endpoints[0].endpoint, "10.244.104.10:80");
    assert_eq!(r.endpoints[0].picks, 900);
}

#[test]
fn maglev_moves_about_a_third_when_one_of_three_goes_and_rr_moves_far_more_needlessly() {
    let c = example("nginx-study.yaml");
    let change = |alg: &str| {
        simulate(
            &c,
            &SimulateOptions {
                remove_endpoint: Some("10.244.166.129:80".into()),
                ..opts("study/service-clusterip", alg)
            },
        )
        .unwrap()
        .disruption
        .unwrap()
    };
    let m = change("maglev");
    assert!((m.moved - 1.0 / 3.0).abs() < 0.03, "{m:?}");
    assert!(m.unnecessary < 0.02, "{m:?}");
    let r = change("rr");
    assert!(r.unnecessary > 0.2, "{r:?}");
}

#[test]
fn least_connection_sees_live_counts() {
    // Long-held connections: lc keeps ActiveConn equal across the pods.
    let r = simulate(
        &example("nginx-study.yaml"),
        &SimulateOptions {
            connections: 300,
            duration: 300.0,
            hold: 1000.0,
            ..opts("study/service-clusterip", "lc")
        },
    )
    .unwrap();
    let active: Vec<u32> = r.endpoints.iter().map(|e| e.active).collect();
    assert_eq!(active, [100, 100, 100]);
    // The node's listing of that virtual server shows the live counts.
    let l = r.ipvs_listing.unwrap();
    assert!(l.contains("TCP  10.97.97.97:80 lc"), "{l}");
    assert!(
        l.contains("  -> 10.244.104.10:80             Masq    1      100        0         "),
        "{l}"
    );
}

#[test]
fn unknown_service_and_ambiguous_port_are_clear_errors() {
    let c = example("kube-system.json");
    assert!(matches!(
        simulate(&c, &opts("default/nope", "rr")),
        Err(Error::UnknownService(_))
    ));
    let e = simulate(&c, &opts("kube-system/kube-dns", "rr")).unwrap_err();
    assert!(e.to_string().contains("has 3 ports"), "{e}");
    let r = simulate(&c, &opts("kube-system/kube-dns:dns-tcp", "rr")).unwrap();
    assert_eq!(r.endpoints.len(), 2);
}

#[test]
fn same_seed_same_report() {
    let c = example("nginx-study.yaml");
    let o = SimulateOptions {
        seed: 7,
        samples: 50,
        ..opts("study/service-clusterip", "iptables")
    };
    assert_eq!(simulate(&c, &o).unwrap(), simulate(&c, &o).unwrap());
}

#[test]
fn progress_is_reported_in_order_up_to_the_total() {
    let mut seen = Vec::new();
    let o = SimulateOptions {
        connections: 1000,
        ..opts("study/service-clusterip", "rr")
    };
    svccore::simulate::simulate_with_progress(&example("nginx-study.yaml"), &o, &mut |d, t| {
        seen.push((d, t))
    })
    .unwrap();
    assert!(seen.len() >= 100, "{}", seen.len());
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0));
    assert_eq!(*seen.last().unwrap(), (1000, 1000));
}
