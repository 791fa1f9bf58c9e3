#!/usr/bin/env python3
"""Kernel tests of svccore's nftables renderer (run as root; Python 3 standard library only).

  python3 tests/kernel/test_nftables.py [--renderer CMD] [--only load|node] [-v]

CMD renders rules; it is called as `CMD [--proxier-settings F] [--node N] --form F -f FILE...`
(the arguments of `svccore render nftables`). Default: svccore's example driver through
`cargo run -q -p svccore --example render_nftables --` (CARGO_TARGET_DIR is honoured), as
tests/kernel/test_iptables.py does; `--renderer "svccore render nftables"` uses the CLI.

(a) load: every conformance case (tests/conformance/nftables), two synthetic clusters (IPv4 and
    IPv6: what the cases leave out, see synthetic_cluster; each also with masqueradeAll, no
    detector, NodePorts on every address and mark 0x1) and every project example
    (examples/, rendered for the node that hosts most of its endpoints) is rendered in the load
    form and loaded with `nft -f` into a fresh network namespace; `nft list table ip kube-proxy`
    (ip6 for IPv6) must equal svccore's list form byte for byte, and so must `nft list ruleset`
    (the namespace holds no other table).
(b) node: a node namespace with three pod namespaces (routed veths) running tiny TCP servers
    that answer with their own and their peer's address, a pod client and an external client;
    the node's rules are the nftables load form. Real connections check: the endpoint shares of
    `numgen random mod N` (uniform, within a 5-sigma binomial bound) for a ClusterIP, a
    NodePort and an external IP; masquerading (none for pod traffic, the node's address for
    external traffic to an ETP Cluster service); ClientIP affinity keeps one client on one
    endpoint and the client's address is in the kernel's affinity set; a service with no
    endpoints is refused; an unknown port of a ClusterIP is refused and an unallocated address
    of the service CIDR is dropped; ETP Local keeps the external client's address and reaches
    only local endpoints, and drops external traffic when there is no local endpoint. The
    node's `nft list table` after all that traffic still equals the list form (affinity
    entries are listed only with `nft list set`).
(c) audit: in (a), every table's `nft -a list ruleset` beside an `inet filter` table has no
    drift for svccore's nftables audit; in (b), the node's `nft -a list ruleset` after the
    traffic (learned affinity entries, handles) has none either, and once rules and elements
    are deleted, replaced and added with `nft`, the audit reports each in its service port.

Only the namespaces' own addresses are used; every namespace and process created is removed
in `finally` blocks. Prints "N passed, M failed" last; exit status 0 only if all passed.
"""

import argparse
import collections
import difflib
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (  # noqa: E402  (the harness lives beside this script)
    CLIENT, EXT_CLIENT, NODE_IP, POD_CLIENT, PODS, RESULTS, SERVER, Netns, check, example_inputs,
    log, run, within, write_json)
from harness import prerequisites as harness_prerequisites  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CASES = os.path.join(ROOT, "tests", "conformance", "nftables")
EXAMPLES = os.path.join(ROOT, "examples")
TAG = "svcn%d" % os.getpid()

VERBOSE = False


def prerequisites():
    return harness_prerequisites(TAG, ("ip", "nft"), "nftables iproute2", "network namespaces, nft")


class Renderer:
    def __init__(self, cmd):
        self.cmd = cmd

    def __call__(self, files, settings=None, form="load", node=None):
        args = list(self.cmd)
        if settings:
            args += ["--proxier-settings", settings]
        if node:
            args += ["--node", node]
        args += ["--form", form]
        for f in files:
            args += ["-f", f]
        return run(args).stdout.decode()

    def audit(self, files, settings, node, listing):
        """Audits `listing` (a file of `nft list` output): (exit status, report text). The
        example driver takes `--audit FILE`; the command is `svccore audit --mode nftables`."""
        args = list(self.cmd)
        k = next((i for i in range(len(args) - 1) if args[i:i + 2] == ["render", "nftables"]), None)
        if k is not None:
            if not node and settings:
                with open(settings) as f:
                    node = json.load(f).get("nodeName") or ""
            args[k:k + 2] = ["audit", "--mode", "nftables"]
            args += ["--actual", listing, "--node", node or ""]
        else:
            args += ["--audit", listing]
            if node:
                args += ["--node", node]
        if settings:
            args += ["--proxier-settings", settings]
        for f in files:
            args += ["-f", f]
        p = run(args, check_rc=False)
        return p.returncode, p.stdout.decode(), p.stderr.decode(errors="replace")


# A table of another owner beside kube-proxy's: `nft list ruleset` prints both.
OTHER_TABLE = """table inet filter {
  chain input { type filter hook input priority 0; policy accept; tcp dport 22 counter accept comment "ssh"; }
}
"""


def diff(want, got, a, b):
    return "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True), a, b))


def nft_version():
    p = run(["nft", "--version"], check_rc=False)
    return p.stdout.decode().strip() or p.stderr.decode().strip()


# ----------------------------------------------------------------------------------- (a) load
def load_one(render, name, files, settings, family, node=None):
    table_family = "ip6" if family == "IPv6" else "ip"
    try:
        load = render(files, settings, "load", node)
        predicted = render(files, settings, "list", node)
    except RuntimeError as e:
        return check(False, "load %s: render" % name, str(e))
    ns = Netns(TAG)
    try:
        n = ns.add("load")
        p = ns.ex(n, ["nft", "-f", "-"], inp=load.encode(), check_rc=False)
        if not check(p.returncode == 0, "load %s: nft -f accepts the load form" % name, p.stderr.decode(errors="replace")):
            return False
        real = ns.ex(n, ["nft", "list", "table", table_family, "kube-proxy"]).stdout.decode()
        ok = check(real == predicted, "load %s: nft list table %s kube-proxy equals svccore's list form" % (name, table_family),
                   diff(predicted, real, "svccore list form", "nft list table"))
        ruleset = ns.ex(n, ["nft", "list", "ruleset"]).stdout.decode()
        check(ruleset == real, "load %s: nft list ruleset is the same text (no other table)" % name,
              diff(real, ruleset, "nft list table", "nft list ruleset"))
        ns.ex(n, ["nft", "-f", "-"], inp=OTHER_TABLE.encode())
        fd, listing = tempfile.mkstemp(suffix=".nft")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(ns.ex(n, ["nft", "-a", "list", "ruleset"]).stdout.decode())
            rc, out, err = render.audit(files, settings, node, listing)
            check(rc == 0 and out.endswith("\nno drift\n"),
                  "load %s: audit of nft -a list ruleset (with an inet filter table) has no drift" % name, out + err)
        finally:
            os.unlink(listing)
        return ok
    finally:
        ns.close()


def busiest_node(paths):
    """The node that hosts most endpoints (`nodeName` fields), else the first Node object."""
    counts = collections.Counter()
    nodes = []
    for path in paths:
        with open(path) as f:
            text = f.read()
        counts.update(re.findall(r'"?nodeName"?\s*:\s*"?([A-Za-z0-9.\-]+)', text))
        nodes += re.findall(r'kind"?\s*:\s*"?Node"?\s*,?\s*(?:"?apiVersion"?\s*:\s*"?v1"?\s*,?\s*)?"?metadata"?\s*:\s*\{?\s*"?name"?\s*:\s*"?([A-Za-z0-9.\-]+)', text)
    if counts:
        return counts.most_common(1)[0][0]
    return nodes[0] if nodes else None


def synthetic_cluster(family):
    """A cluster that exercises what the conformance cases do not: IPv6, UDP and SCTP,
    multi-port services, many endpoints (a numgen map of 12), several NodePorts and external
    IPs (element order and line folding), ClientIP affinity, overlapping and adjacent source
    ranges (merged by nft), one containing the node IP, two ServiceCIDRs of the family, ETP and
    ITP Local, terminating endpoints."""
    v6 = family == "IPv6"

    def ip(kind, n):
        if v6:
            return {"svc": "fd00:10:96::%x", "ep": "fd00:244:%x::2", "ext": "2001:db8:60::%x",
                    "lb": "2001:db8:70::%x"}[kind] % n
        return {"svc": "10.96.%d.%d", "ep": "10.244.%d.%d", "ext": "192.168.%d.%d",
                "lb": "203.0.%d.%d"}[kind] % ((n * 37) % 251, (n * 101) % 254 + 1)

    items = []
    for i in range(12):
        name = "s%02d" % i
        ports = [{"name": "tcp", "protocol": "TCP", "port": 80 + i, "targetPort": 8080}]
        if i % 3 == 1:
            ports.append({"name": "dns", "protocol": "UDP", "port": 53, "targetPort": 5353})
        if i % 4 == 2:
            ports.append({"name": "sctp", "protocol": "SCTP", "port": 9000, "targetPort": 9000})
        typ = ["ClusterIP", "NodePort", "LoadBalancer"][i % 3]
        if typ != "ClusterIP":
            for k, p in enumerate(ports):
                p["nodePort"] = 30000 + (i * 257 + k * 31) % 2700
        cip = ip("svc", i + 1)
        spec = {"type": typ, "clusterIP": cip, "clusterIPs": [cip], "ipFamilies": [family], "ports": ports}
        if i % 2 == 0:
            spec["externalIPs"] = [ip("ext", i + 1), ip("ext", i + 40)]
        if typ != "ClusterIP":
            spec["externalTrafficPolicy"] = "Local" if i % 4 == 1 else "Cluster"
        if i % 5 == 3:
            spec["internalTrafficPolicy"] = "Local"
        if i in (2, 5):
            spec["sessionAffinity"] = "ClientIP"
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 600 + i * 3661}}
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "syn"}, "spec": spec}
        if typ == "LoadBalancer":
            svc["status"] = {"loadBalancer": {"ingress": [{"ip": ip("lb", i + 1)}, {"ip": ip("lb", i + 77)}]}}
            if i == 2:
                spec["loadBalancerSourceRanges"] = (
                    ["2001:db8:1::/48", "2001:db8:1:2::/64", "2001:db8:2::/48", "fd00:50::/64"] if v6 else
                    ["10.0.0.0/8", "10.1.0.0/16", "11.0.0.0/8", "192.168.50.0/24", "198.51.100.7/32"])
        items.append(svc)
        n_eps = 12 if i == 0 else (0 if i == 7 else 1 + i % 3)
        eps = []
        for k in range(n_eps):
            e = {"addresses": [ip("ep", i * 16 + k + 1)], "conditions": {"ready": True},
                 "nodeName": "node-a" if k % 2 == 0 else "node-b"}
            if i == 4 and k == 0:
                e["conditions"] = {"ready": False, "serving": True, "terminating": True}
            eps.append(e)
        items.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                      "metadata": {"name": name + "-1", "namespace": "syn",
                                   "labels": {"kubernetes.io/service-name": name}},
                      "addressType": family,
                      "ports": [{"name": p["name"], "port": p["targetPort"], "protocol": p["protocol"]} for p in ports],
                      "endpoints": eps})
    items.append({"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR", "metadata": {"name": "kubernetes"},
                  "spec": {"cidrs": ["10.96.0.0/16", "fd00:10:96::/112"]}})
    items.append({"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR", "metadata": {"name": "extra"},
                  "spec": {"cidrs": ["fd00:10:97::/112" if v6 else "172.30.0.0/16"]}})
    items.append({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a", "labels": {}},
                  "status": {"addresses": [{"type": "InternalIP", "address": "192.168.50.1"},
                                           {"type": "InternalIP", "address": "fd00:50::1"}]}})
    settings = {"nodeName": "node-a", "nodeIPs": ["fd00:50::1", "192.168.50.1"] if v6 else ["192.168.50.1", "fd00:50::1"],
                "ipFamily": family, "clusterCIDR": "fd00:244::/56" if v6 else "10.244.0.0/16",
                "masqueradeAll": False, "masqueradeMark": "0x4000",
                "nodePortAddresses": ["192.168.50.0/24", "fd00:50::/64"],
                "interfaceAddresses": ["127.0.0.1/8", "::1/128", "192.168.50.1/24", "192.168.51.1/24", "fd00:50::1/64"],
                "serviceCIDRs": [], "staleChains": []}
    return {"apiVersion": "v1", "kind": "List", "items": items}, settings


def test_load(render, tmp):
    cases = sorted(c for c in os.listdir(CASES) if os.path.isfile(os.path.join(CASES, c, "expected.txt")))
    check(len(cases) > 0, "load: conformance cases found in %s (%d)" % (CASES, len(cases)))
    for case in cases:
        d = os.path.join(CASES, case)
        with open(os.path.join(d, "proxy.json")) as f:
            proxy = json.load(f)
        load_one(render, case, [os.path.join(d, "cluster.json")], os.path.join(d, "proxy.json"), proxy["ipFamily"])
    # The same clusters with the other settings shapes: masquerade-all without a local-traffic
    # detector, NodePorts on every local address ("match all"), another mark bit.
    variants = [("", {}), (" masqueradeAll, no detector, all node addresses, mark 0x1",
                           {"masqueradeAll": True, "clusterCIDR": None, "nodePortAddresses": None,
                            "masqueradeMark": "0x1"})]
    for family in ("IPv4", "IPv6"):
        for k, (label, change) in enumerate(variants):
            cluster, settings = synthetic_cluster(family)
            settings.update(change)
            cfile = write_json(tmp, "synthetic-%s.json" % family, cluster)
            sfile = write_json(tmp, "synthetic-%s-%d-proxy.json" % (family, k), settings)
            load_one(render, "synthetic %s%s" % (family, label), [cfile], sfile, family)
    for name, files, settings in example_inputs(EXAMPLES):
        family = "IPv4"
        if settings:
            with open(settings) as f:
                family = json.load(f).get("ipFamily", "IPv4")
        node = busiest_node(files)
        try:
            render(files, settings, "load", node)
        except RuntimeError as e:
            log("SKIP example %s: does not render for nftables (%s)" % (name, str(e).splitlines()[0][:200]))
            continue
        load_one(render, "example %s (node %s)" % (name, node), files, settings, family, node)


# ----------------------------------------------------------------------------------- (b) node
SERVICE_CIDR = "10.96.0.0/16"


def node_cluster():
    def svc(name, ip, port, target, typ="ClusterIP", node_port=None, extra=None):
        p = {"name": "http", "protocol": "TCP", "port": port, "targetPort": target}
        if node_port:
            p["nodePort"] = node_port
        spec = {"type": typ, "clusterIP": ip, "clusterIPs": [ip], "ipFamilies": ["IPv4"], "ports": [p]}
        spec.update(extra or {})
        return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "demo"}, "spec": spec}

    def slice_(name, port, eps):
        return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": name + "-1", "namespace": "demo", "labels": {"kubernetes.io/service-name": name}},
                "addressType": "IPv4", "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
                "endpoints": [{"addresses": [ip], "conditions": {"ready": True}, "nodeName": node} for ip, node in eps]}

    local = [(ip, "node-a") for ip in PODS]
    items = [
        svc("web", "10.96.0.10", 80, 8080, "NodePort", 30080,
            {"externalIPs": ["192.168.60.10"], "externalTrafficPolicy": "Cluster"}),
        svc("sticky", "10.96.0.11", 80, 8081, extra={"sessionAffinity": "ClientIP",
                                                      "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 600}}}),
        svc("empty", "10.96.0.12", 80, 8080),
        svc("onlyremote", "10.96.0.13", 80, 8080, "NodePort", 30081, {"externalTrafficPolicy": "Local"}),
        svc("keepsource", "10.96.0.14", 80, 8080, "NodePort", 30082, {"externalTrafficPolicy": "Local"}),
        slice_("web", 8080, local),
        slice_("sticky", 8081, local),
        slice_("onlyremote", 8080, [(PODS[0], "node-b")]),
        # Two endpoints on this node, one elsewhere: external traffic may reach only the two.
        slice_("keepsource", 8080, [(PODS[0], "node-b"), (PODS[1], "node-a"), (PODS[2], "node-a")]),
        {"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR", "metadata": {"name": "kubernetes"},
         "spec": {"cidrs": [SERVICE_CIDR]}},
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a", "labels": {}},
         "status": {"addresses": [{"type": "InternalIP", "address": NODE_IP}]}},
    ]
    settings = {"nodeName": "node-a", "nodeIPs": [NODE_IP], "ipFamily": "IPv4", "clusterCIDR": "10.244.0.0/16",
                "masqueradeAll": False, "masqueradeMark": "0x00004000", "nodePortAddresses": None,
                "interfaceAddresses": ["127.0.0.1/8", NODE_IP + "/24"], "serviceCIDRs": [], "staleChains": []}
    return {"apiVersion": "v1", "kind": "List", "items": items}, settings


def test_node(render, tmp):
    cluster, settings = node_cluster()
    cfile = write_json(tmp, "node-cluster.json", cluster)
    sfile = write_json(tmp, "node-proxy.json", settings)
    load = render([cfile], sfile, "load")
    predicted = render([cfile], sfile, "list")
    ns = Netns(TAG)
    try:
        node = ns.add("node")
        ns.ex(node, ["sysctl", "-qw", "net.ipv4.ip_forward=1"])

        servers = []
        pod_gw = []
        for i, ip in enumerate(PODS):
            pod = ns.add("pod%d" % i)
            gw = "10.244.%d.1" % (i + 1)
            pod_gw.append(gw)
            ns.link(node, pod, "vp%d" % i, gw + "/24", ip + "/24")
            servers.append(ns.spawn(pod, [sys.executable, "-c", SERVER, ip, "8080", "8081"]))
        client = ns.add("client")
        ns.link(node, client, "vc", "10.244.9.1/24", POD_CLIENT + "/24")
        ext = ns.add("ext")
        ns.link(node, ext, "ve", NODE_IP + "/24", EXT_CLIENT + "/24")
        # A real node has a default route: without one, packets to a service IP with no DNAT
        # fail the routing lookup before the filter chains can reject or drop them. The gateway
        # is the external client's namespace, which does not forward.
        ns.ex(node, ["ip", "route", "add", "default", "via", EXT_CLIENT])
        for s in servers:
            line = s.stdout.readline().decode().strip()
            if line != "ready":
                raise RuntimeError("server did not start: %s" % s.stderr.read().decode(errors="replace"))

        ns.ex(node, ["nft", "-f", "-"], inp=load.encode())
        real = ns.ex(node, ["nft", "list", "table", "ip", "kube-proxy"]).stdout.decode()
        check(real == predicted, "node: nft list table ip kube-proxy equals svccore's list form",
              diff(predicted, real, "svccore list form", "nft list table"))
        check("ip daddr %s drop" % SERVICE_CIDR in real,
              "node: the drop rule uses the ServiceCIDR object's %s" % SERVICE_CIDR, real)

        def connect(src_ns, dst, port, n, timeout=2.0):
            p = ns.ex(src_ns, [sys.executable, "-c", CLIENT, dst, str(port), str(n), str(timeout)], timeout=60 + n * timeout)
            return json.loads(p.stdout.decode())

        def distribution(name, src_ns, src_ip, dst, port, n, endpoints, masquerade):
            """numgen random mod N: each endpoint 1/N; the peer the pod sees is the client's
            address, or with masquerading the node's address on the pod's link."""
            replies = connect(src_ns, dst, port, n)
            counts = collections.Counter()
            bad = []
            for r in replies:
                if " " not in r:
                    bad.append(r)
                    continue
                ep, peer = r.split()
                counts[ep] += 1
                want_peer = pod_gw[PODS.index(ep)] if masquerade else src_ip
                if ep not in endpoints:
                    bad.append("%s is not one of %s" % (ep, endpoints))
                elif peer != want_peer:
                    bad.append("%s saw peer %s, want %s" % (ep, peer, want_peer))
            p = 1.0 / len(endpoints)
            ok = not bad and all(within(counts[ep], n, p) for ep in endpoints)
            check(ok, "node %s: %d connections, shares %s vs 1/%d each, %s" % (
                name, n, {ep: counts[ep] for ep in endpoints}, len(endpoints),
                "masqueraded to the node" if masquerade else "client address kept"), "failures: %s" % bad[:5])

        distribution("ClusterIP from a local pod", client, POD_CLIENT, "10.96.0.10", 80, 240, PODS, False)
        distribution("NodePort from outside (ETP Cluster)", ext, EXT_CLIENT, NODE_IP, 30080, 150, PODS, True)
        distribution("external IP from outside", ext, EXT_CLIENT, "192.168.60.10", 80, 90, PODS, True)
        distribution("NodePort from outside (ETP Local)", ext, EXT_CLIENT, NODE_IP, 30082, 120, PODS[1:], False)

        replies = connect(client, "10.96.0.11", 80, 30)
        eps = {r.split()[0] for r in replies if " " in r}
        check(len(eps) == 1 and all(" " in r for r in replies),
              "node ClientIP affinity: 30 connections from one client reach one endpoint %s" % sorted(eps), str(replies[:5]))
        sets = ns.ex(node, ["nft", "list", "sets", "table", "ip", "kube-proxy"]).stdout.decode()
        holders = re.findall(r"set (affinity-\S+) \{[^}]*?elements = \{ ([^}]*)\}", sets)
        want = [h for h in holders if POD_CLIENT in h[1]]
        check(len(want) == 1 and eps and want[0][0].endswith("__%s/8081" % next(iter(eps))) and "expires" in want[0][1],
              "node ClientIP affinity: the client's address is in the chosen endpoint's affinity set, with an expiry",
              sets)

        replies = connect(client, "10.96.0.12", 80, 3)
        check(replies == ["refused"] * 3, "node no endpoints: connection refused (reject-chain)", str(replies))
        replies = connect(client, "10.96.0.10", 81, 2)
        check(replies == ["refused"] * 2, "node ClusterIP, unknown port: refused (cluster-ips-check reject)", str(replies))
        replies = connect(client, "10.96.0.99", 80, 2, timeout=1.5)
        check(replies == ["timeout"] * 2,
              "node unallocated address of the ServiceCIDR: dropped (connection times out)", str(replies))

        replies = connect(ext, NODE_IP, 30081, 2, timeout=1.5)
        check(replies == ["timeout"] * 2,
              "node ETP Local without local endpoint: external connection dropped (times out)", str(replies))
        # The same service from a pod on the node still reaches the (remote) endpoint.
        replies = connect(client, "10.96.0.13", 80, 3)
        check(all(r.startswith(PODS[0] + " ") for r in replies),
              "node ETP Local: cluster-IP traffic still served by the remote endpoint", str(replies))

        # The traffic added the client to an affinity set (an element with an expiry): that is
        # the only difference from the list form, which shows the table as loaded.
        real = ns.ex(node, ["nft", "list", "table", "ip", "kube-proxy"]).stdout.decode()
        learned = [l for l in real.splitlines(True) if re.match(r"\t\telements = \{ [^}]* expires [^}]*\}$", l)]
        rest = "".join(l for l in real.splitlines(True) if l not in learned)
        check(len(learned) == 1 and POD_CLIENT in learned[0] and rest == predicted,
              "node: after the traffic, nft list table is the list form plus the learned affinity entry",
              "learned %s\n%s" % (learned, diff(predicted, rest, "svccore list form", "nft list table")))
        audit_node(render, cfile, sfile, node, ns, tmp)
    finally:
        ns.close()


def audit_node(render, cfile, sfile, node, ns, tmp):
    """(c) the audit on the node's real `nft -a list ruleset`: clean after the traffic, then a
    deleted, a replaced and an added rule and a deleted and an added element, each found in
    its service port."""
    path = os.path.join(tmp, "node-ruleset.nft")

    def audit():
        with open(path, "w") as f:
            f.write(ns.ex(node, ["nft", "-a", "list", "ruleset"]).stdout.decode())
        rc, out, err = render.audit([cfile], sfile, None, path)
        groups = {}
        for block in out.split("\n\n")[1:]:
            head, _, body = block.partition(":\n")
            groups[head] = body if body.endswith("\n") else body + "\n"
        return rc, out + err, groups

    rc, out, _ = audit()
    check(rc == 0 and "\nno drift\n" in out,
          "audit: the node's nft -a list ruleset after the traffic (learned affinity entries) has no drift", out)
    listing = ns.ex(node, ["nft", "list", "table", "ip", "kube-proxy"]).stdout.decode()
    ep = re.findall(r"\tchain (endpoint-\S+-demo/web/tcp/http__10\.244\.1\.2/8080) \{", listing)
    svc = re.findall(r"\tchain (service-\S+-demo/sticky/tcp/http) \{", listing)
    if not check(len(ep) == 1 and len(svc) == 1, "audit: the chains to edit are listed", listing):
        return
    ep, svc = ep[0], svc[0]

    def handle(chain, needle):
        text = ns.ex(node, ["nft", "-a", "list", "chain", "ip", "kube-proxy", chain]).stdout.decode()
        return next(l.rsplit("# handle ", 1)[1].strip() for l in text.splitlines() if needle in l and "# handle " in l)

    kp = ["ip", "kube-proxy"]
    ns.ex(node, ["nft", "delete", "rule"] + kp + [ep, "handle", handle(ep, "jump mark-for-masquerade")])
    ns.ex(node, ["nft", "replace", "rule"] + kp + [ep, "handle", handle(ep, "dnat to"),
                                                   "meta", "l4proto", "tcp", "dnat", "to", "10.244.1.2:9999"])
    ns.ex(node, ["nft", "insert", "rule"] + kp + [svc, "ip", "saddr", "203.0.113.9", "counter", "drop"])
    ns.ex(node, ["nft", "delete", "element"] + kp + ["service-ips", "{ 192.168.60.10 . tcp . 80 }"])
    ns.ex(node, ["nft", "add", "element"] + kp + ["no-endpoint-nodeports", '{ tcp . 30999 comment "demo/gone:http" : drop }'])
    rc, out, groups = audit()
    web, sticky, gone = groups.get("demo/web:http", ""), groups.get("demo/sticky:http", ""), groups.get("demo/gone:http", "")
    check(rc == 1 and sorted(groups) == ["demo/gone:http", "demo/sticky:http", "demo/web:http"],
          "audit: drift after the edits, in the edited service ports only", out)
    check("  missing  add rule ip kube-proxy %s ip saddr 10.244.1.2 jump mark-for-masquerade\n" % ep in web,
          "audit: a rule deleted with nft is missing in its service port", out)
    check("  changed  %s\n" % ep in web and "have add rule ip kube-proxy %s meta l4proto tcp dnat to 10.244.1.2:9999" % ep in web,
          "audit: a rule replaced with nft (another endpoint port) is changed", out)
    check("  extra    add rule ip kube-proxy %s ip saddr 203.0.113.9 counter drop\n" % svc in sticky,
          "audit: a rule inserted with nft is extra in its service port", out)
    check(re.search(r"  missing  add element ip kube-proxy service-ips \{ 192\.168\.60\.10 \. tcp \. 80 : goto external-\S+-demo/web/tcp/http \}\n", web),
          "audit: an element deleted with nft is missing in its service port", out)
    check('  extra    add element ip kube-proxy no-endpoint-nodeports { tcp . 30999 comment "demo/gone:http" : drop }\n' in gone,
          "audit: an element added with nft is extra, in the service port its comment names", out)


def main():
    global VERBOSE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--renderer", help="renderer command (default: cargo run -q -p svccore --example render_nftables --)")
    ap.add_argument("--only", choices=["load", "node"])
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args()
    VERBOSE = a.v
    why = prerequisites()
    if why:
        log("cannot run the kernel tests: " + why)
        log("0 passed, 1 failed")
        return 2
    log("nft: %s, kernel %s" % (nft_version(), os.uname().release))
    if a.renderer:
        cmd = shlex.split(a.renderer)
    else:
        run(["cargo", "build", "-q", "-p", "svccore", "--example", "render_nftables"], timeout=1800)
        cmd = ["cargo", "run", "-q", "-p", "svccore", "--example", "render_nftables", "--"]
    render = Renderer(cmd)
    tmp = tempfile.mkdtemp(prefix="svccore-nft-kernel-")
    start = time.time()
    try:
        if a.only in (None, "load"):
            test_load(render, tmp)
        if a.only in (None, "node"):
            try:
                test_node(render, tmp)
            except Exception as e:  # a setup failure is a failed test, with its reason
                check(False, "node setup", "%s: %s" % (type(e).__name__, e))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log("kernel tests took %.1fs" % (time.time() - start))
    log("%d passed, %d failed" % (RESULTS["passed"], RESULTS["failed"]))
    return 0 if RESULTS["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
