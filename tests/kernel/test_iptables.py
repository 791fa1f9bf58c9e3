#!/usr/bin/env python3
"""Kernel tests of svccore's iptables renderer (run as root; Python 3 standard library only).

  python3 tests/kernel/test_iptables.py [--renderer CMD] [--only load|node] [-v]

CMD renders rules; it is called as `CMD [--proxier-settings F] [--node N] [--form F] FILES...`
and `CMD ... --trace SRC DST PORT PROTO FROM`. Default: svccore's example driver through
`cargo run -q -p svccore --example render_iptables --` (CARGO_TARGET_DIR is honoured).

(a) load: every conformance case (tests/conformance/iptables) and every project example
    (examples/, if present) is rendered in restore form and loaded with iptables-restore /
    ip6tables-restore into a fresh network namespace, followed by kube-proxy's jump rules; the
    namespace's iptables-save (minus '#' lines) must equal svccore's save form byte for byte.
    Cases whose settings name nfacct counters are only checked with `--test` (these kernels
    have no nfnetlink_acct, and kube-proxy writes those matches only after creating counters).
(b) node: a node namespace with three pod namespaces (routed veths) running tiny TCP servers
    that answer with their own and their peer's address, a pod client and an external client.
    Real connections check: the endpoint shares match the model's probabilities within a
    5-sigma binomial bound (ClusterIP, NodePort, external IP); masquerading matches the model;
    ClientIP affinity keeps one client on one endpoint; a service with no endpoints is refused;
    ETP Local with no local endpoint drops external traffic (timeout).

Only the namespaces' own addresses are used; every namespace and process created is removed
in `finally` blocks. Prints "N passed, M failed" last; exit status 0 only if all passed.
"""

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (  # noqa: E402  (the harness lives beside this script)
    CLIENT, EXT_CLIENT, NODE_IP, POD_CLIENT, PODS, RESULTS, SERVER, Netns, check, example_inputs,
    log, run, strip_comments, within, write_json)
from harness import prerequisites as harness_prerequisites  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CASES = os.path.join(ROOT, "tests", "conformance", "iptables")
EXAMPLES = os.path.join(ROOT, "examples")
TAG = "svck%d" % os.getpid()

VERBOSE = False


def prerequisites():
    return harness_prerequisites(TAG, ("ip", "iptables-restore", "iptables-save", "ip6tables-restore", "ip6tables-save"), "iptables iproute2", "network namespaces, iptables")


class Renderer:
    def __init__(self, cmd):
        self.cmd = cmd

    def __call__(self, files, settings=None, form="restore", extra=()):
        args = list(self.cmd)
        if settings:
            args += ["--proxier-settings", settings]
        args += ["--form", form] + list(extra) + list(files)
        return run(args).stdout.decode()

    def trace(self, files, settings, src, dst, port, origin):
        args = list(self.cmd) + ["--proxier-settings", settings, "--trace", src, dst, str(port), "tcp", origin] + list(files)
        return json.loads(run(args).stdout.decode())


# ----------------------------------------------------------------------------------- (a) load
def load_one(render, name, files, settings, family, nfacct):
    restore_cmd, save_cmd = ("ip6tables-restore", "ip6tables-save") if family == "IPv6" else ("iptables-restore", "iptables-save")
    try:
        restore = render(files, settings, "restore")
        jumps = render(files, settings, "jumps")
        predicted = render(files, settings, "save")
    except RuntimeError as e:
        return check(False, "load %s: render" % name, str(e))
    ns = Netns(TAG)
    try:
        n = ns.add("load")
        if nfacct:
            p = ns.ex(n, [restore_cmd, "--test"], inp=restore.encode(), check_rc=False)
            return check(p.returncode == 0, "load %s: %s --test (nfacct counters: no real load)" % (name, restore_cmd),
                         p.stderr.decode(errors="replace"))
        p = ns.ex(n, [restore_cmd, "--noflush", "--counters"], inp=restore.encode(), check_rc=False)
        if not check(p.returncode == 0, "load %s: %s --noflush --counters" % (name, restore_cmd), p.stderr.decode(errors="replace")):
            return False
        p = ns.ex(n, [restore_cmd, "--noflush"], inp=jumps.encode(), check_rc=False)
        if not check(p.returncode == 0, "load %s: jump rules" % name, p.stderr.decode(errors="replace")):
            return False
        real = strip_comments(ns.ex(n, [save_cmd]).stdout.decode())
        detail = ""
        if real != predicted:
            import difflib
            detail = "".join(difflib.unified_diff(predicted.splitlines(True), real.splitlines(True), "svccore save form", save_cmd))
        return check(real == predicted, "load %s: %s equals svccore's save form" % (name, save_cmd), detail)
    finally:
        ns.close()


def test_load(render):
    for case in sorted(os.listdir(CASES)):
        d = os.path.join(CASES, case)
        if not os.path.isfile(os.path.join(d, "expected.txt")):
            continue
        with open(os.path.join(d, "proxy.json")) as f:
            proxy = json.load(f)
        load_one(render, case, [os.path.join(d, "cluster.json")], os.path.join(d, "proxy.json"),
                 proxy["ipFamily"], bool(proxy.get("nfacctCounters")))
    for name, files, settings in example_inputs(EXAMPLES):
        family, nfacct = "IPv4", False
        if settings:
            with open(settings) as f:
                s = json.load(f)
            family, nfacct = s.get("ipFamily", "IPv4"), bool(s.get("nfacctCounters"))
        try:
            render(files, settings, "restore")
        except RuntimeError as e:
            log("SKIP example %s: does not render for iptables (%s)" % (name, str(e).splitlines()[0][:200]))
            continue
        load_one(render, "example " + name, files, settings, family, nfacct)


# ----------------------------------------------------------------------------------- (b) node
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
        slice_("web", 8080, local),
        slice_("sticky", 8081, local),
        slice_("onlyremote", 8080, [(PODS[0], "node-b")]),
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a", "labels": {}},
         "status": {"addresses": [{"type": "InternalIP", "address": NODE_IP}]}},
    ]
    settings = {"nodeName": "node-a", "nodeIPs": [NODE_IP], "ipFamily": "IPv4", "clusterCIDR": "10.244.0.0/16",
                "masqueradeAll": False, "masqueradeMark": "0x00004000", "localhostNodePorts": True,
                "nodePortAddresses": None, "nfacctCounters": [], "randomFully": True, "conntrackTCPLiberal": False,
                "interfaceAddresses": ["127.0.0.1/8", NODE_IP + "/24"]}
    return {"apiVersion": "v1", "kind": "List", "items": items}, settings


def test_node(render, tmp):
    cluster, settings = node_cluster()
    cfile = write_json(tmp, "node-cluster.json", cluster)
    sfile = write_json(tmp, "node-proxy.json", settings)
    ns = Netns(TAG)
    try:
        node = ns.add("node")
        ns.ex(node, ["sysctl", "-qw", "net.ipv4.ip_forward=1"])

        servers = []
        for i, ip in enumerate(PODS):
            pod = ns.add("pod%d" % i)
            ns.link(node, pod, "vp%d" % i, "10.244.%d.1/24" % (i + 1), ip + "/24")
            servers.append(ns.spawn(pod, [sys.executable, "-c", SERVER, ip, "8080", "8081"]))
        client = ns.add("client")
        ns.link(node, client, "vc", "10.244.9.1/24", POD_CLIENT + "/24")
        ext = ns.add("ext")
        ns.link(node, ext, "ve", NODE_IP + "/24", EXT_CLIENT + "/24")
        # A real node has a default route: without one, packets to a service IP with no DNAT
        # fail the routing lookup (ICMP net unreachable) before filter FORWARD can REJECT them.
        # The gateway is the external client's namespace, which does not forward.
        ns.ex(node, ["ip", "route", "add", "default", "via", EXT_CLIENT])
        for s in servers:
            line = s.stdout.readline().decode().strip()
            if line != "ready":
                raise RuntimeError("server did not start: %s" % s.stderr.read().decode(errors="replace"))

        ns.ex(node, ["iptables-restore", "--noflush", "--counters"], inp=render([cfile], sfile, "restore").encode())
        ns.ex(node, ["iptables-restore", "--noflush"], inp=render([cfile], sfile, "jumps").encode())

        def connect(src_ns, dst, port, n, timeout=2.0):
            p = ns.ex(src_ns, [sys.executable, "-c", CLIENT, dst, str(port), str(n), str(timeout)], timeout=60 + n * timeout)
            return json.loads(p.stdout.decode())

        def shares(src, dst, port, origin):
            t = render.trace([cfile], sfile, src, dst, port, origin)
            out = {}
            for o in t["outcomes"]:
                v = o["verdict"]
                key = v["endpoint"].rsplit(":", 1)[0] if v["kind"] == "Dnat" else v["kind"]
                out[key] = out.get(key, 0.0) + o["probability"]["decimal"]
            masq = {o["verdict"].get("endpoint", "").rsplit(":", 1)[0]: o["masquerade"] for o in t["outcomes"]}
            return out, masq

        def distribution(name, src_ns, src_ip, dst, port, origin, n):
            model, masq = shares(src_ip, dst, port, origin)
            replies = connect(src_ns, dst, port, n)
            counts = {}
            bad = [r for r in replies if " " not in r]
            for r in replies:
                if " " in r:
                    ep, peer = r.split()
                    counts[ep] = counts.get(ep, 0) + 1
                    want_peer_masq = masq.get(ep)
                    is_masq = peer != src_ip
                    if want_peer_masq is not None and want_peer_masq != is_masq:
                        bad.append("%s: peer %s, model masquerade=%s" % (ep, peer, want_peer_masq))
            ok = not bad and set(counts) <= set(model) and all(
                within(counts.get(ep, 0), n, p) for ep, p in model.items())
            check(ok, "node %s: %d connections, shares %s vs model %s, masquerade as modelled" % (
                name, n, {k: counts.get(k, 0) for k in sorted(model)}, {k: round(v, 6) for k, v in sorted(model.items())}),
                "failures: %s" % bad[:5])

        distribution("ClusterIP from a local pod", client, POD_CLIENT, "10.96.0.10", 80, "pod", 240)
        distribution("NodePort from outside", ext, EXT_CLIENT, NODE_IP, 30080, "external", 150)
        distribution("external IP from outside", ext, EXT_CLIENT, "192.168.60.10", 80, "external", 90)

        replies = connect(client, "10.96.0.11", 80, 30)
        eps = {r.split()[0] for r in replies if " " in r}
        check(len(eps) == 1 and all(" " in r for r in replies),
              "node ClientIP affinity: 30 connections from one client reach one endpoint %s" % sorted(eps), str(replies[:5]))

        t, _ = shares(POD_CLIENT, "10.96.0.12", 80, "pod")
        replies = connect(client, "10.96.0.12", 80, 3)
        check(set(t) == {"Reject"} and replies == ["refused"] * 3,
              "node no endpoints: model REJECT, connection refused", "model %s, got %s" % (t, replies))

        t, _ = shares(EXT_CLIENT, NODE_IP, 30081, "external")
        replies = connect(ext, NODE_IP, 30081, 2, timeout=1.5)
        check(set(t) == {"Drop"} and replies == ["timeout"] * 2,
              "node ETP Local without local endpoint: model DROP, external connection times out",
              "model %s, got %s" % (t, replies))
        # The same port from a pod on the node still reaches the (remote) endpoint via KUBE-SVC.
        replies = connect(client, "10.96.0.13", 80, 3)
        check(all(r.startswith(PODS[0] + " ") for r in replies),
              "node ETP Local: cluster-IP traffic still served by the remote endpoint", str(replies))
        # The node's real rules carry no drift for svccore's audit.
        dump = os.path.join(tmp, "node-save.txt")
        with open(dump, "w") as f:
            f.write(ns.ex(node, ["iptables-save", "-c"]).stdout.decode())
        audit_node(render, cfile, sfile, dump, node, ns, tmp)
    finally:
        ns.close()


def audit_node(render, cfile, sfile, dump, node, ns, tmp):
    """audit on a real iptables-save: clean as loaded, then a deleted, an added and a changed rule."""
    def audit(path):
        p = run(list(render.cmd) + ["--proxier-settings", sfile, "--audit", path, cfile], check_rc=False)
        return p.returncode, p.stdout.decode()

    rc, out = audit(dump)
    check(rc == 0 and "no drift" in out, "audit: unmodified node iptables-save has no drift", out)
    sep = [l for l in open(dump).read().splitlines() if "DNAT --to-destination 10.244.1.2:8080" in l and "demo/web" in l]
    chain = sep[0].split()[2] if sep and sep[0].startswith("[") else (sep[0].split()[1] if sep else None)
    cascade = [l for l in open(dump).read().splitlines() if "--probability" in l and "demo/web:http ->" in l]
    svc_chain = cascade[0].split("-A ", 1)[1].split()[0] if cascade else None
    if not (chain and svc_chain):
        return check(False, "audit: find rules to edit", "no SEP/SVC rule for demo/web in the dump")
    ns.ex(node, ["iptables", "-t", "nat", "-D", chain, "-p", "tcp", "-m", "comment", "--comment", "demo/web:http",
                 "-m", "tcp", "-j", "DNAT", "--to-destination", "10.244.1.2:8080"])
    ns.ex(node, ["iptables", "-t", "nat", "-I", "KUBE-SERVICES", "-d", "10.96.0.99/32", "-p", "tcp", "-m", "comment",
                 "--comment", "demo/stale:http cluster IP", "-m", "tcp", "--dport", "80", "-j", "ACCEPT"])
    ns.ex(node, ["iptables", "-t", "nat", "-R", svc_chain, "2", "-m", "comment", "--comment",
                 cascade[0].split('--comment "')[1].split('"')[0], "-m", "statistic", "--mode", "random",
                 "--probability", "0.9", "-j", cascade[0].rsplit("-j ", 1)[1].strip()])
    edited = os.path.join(tmp, "node-save-edited.txt")
    with open(edited, "w") as f:
        f.write(ns.ex(node, ["iptables-save"]).stdout.decode())
    rc, out = audit(edited)
    ok = rc == 1 and "missing  [nat] -A %s" % chain in out and "demo/stale:http" in out and "changed  [nat] %s" % svc_chain in out
    check(ok, "audit: real iptables-save with a deleted, an added and a changed rule reports all three", out)


def main():
    global VERBOSE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--renderer", help="renderer command (default: cargo run -q -p svccore --example render_iptables --)")
    ap.add_argument("--only", choices=["load", "node"])
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args()
    VERBOSE = a.v
    why = prerequisites()
    if why:
        log("cannot run the kernel tests: " + why)
        log("0 passed, 1 failed")
        return 2
    if a.renderer:
        cmd = shlex.split(a.renderer)
    else:
        run(["cargo", "build", "-q", "-p", "svccore", "--example", "render_iptables"], timeout=1800)
        cmd = ["cargo", "run", "-q", "-p", "svccore", "--example", "render_iptables", "--"]
    render = Renderer(cmd)
    tmp = tempfile.mkdtemp(prefix="svccore-kernel-")
    start = time.time()
    try:
        if a.only in (None, "load"):
            test_load(render)
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
