#!/usr/bin/env python3
"""Kernel tests of svccore's userspace-mode portal rules (run as root; Python 3 standard library only).

  python3 tests/kernel/test_userspace.py [--renderer CMD] [--only load|redirect] [-v]

CMD renders rules; it is called as `CMD --mode userspace --proxier-settings F --form F -f FILE...`
(the example driver or `svccore render iptables`).
Default: svccore's example driver through `cargo run -q -p svccore --example render_iptables --`.

(a) load: core/tests/userspace_data/cluster.yaml (cluster IPs, a UDP port, an external IP, a
    load-balancer ingress IP, node ports), with the proxy on every address and bound to one, is
    rendered in restore form and loaded with iptables-restore --noflush into a fresh network
    namespace, then the jumps payload; the namespace's iptables-save (minus '#' lines) must
    equal svccore's save form byte for byte.
(b) redirect: a node namespace with a pod namespace and an external client namespace (routed
    veths). A small TCP listener stands in for kube-proxy on each proxy port and answers every
    connection with its own port and the connection's original destination
    (getsockopt(SOL_IP, SO_ORIGINAL_DST)). Real connections check that the cluster IP, an
    external IP, a load-balancer IP and a node port reach the right proxy port with the right
    original destination, from the pod (PREROUTING, the CONTAINER chains) and from the node
    itself (OUTPUT, the HOST chains: iptables counters say which chain matched); then the same
    with the proxy bound to the node IP (DNAT instead of REDIRECT).

Only the namespaces' own addresses are used; every namespace and process created is removed in
`finally` blocks. Prints "N passed, M failed" last; exit status 0 only if all passed.
"""

import argparse
import difflib
import json
import os
import shlex
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (  # noqa: E402  (the harness lives beside this script)
    CLIENT, EXT_CLIENT, NODE_IP, POD_CLIENT, RESULTS, Netns, check, log, run, strip_comments, write_json)
from harness import prerequisites as harness_prerequisites  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LOAD_CASE = os.path.join(ROOT, "core", "tests", "userspace_data", "cluster.yaml")
TAG = "svcu%d" % os.getpid()

# Stands in for kube-proxy: listens on each proxy port and reports, per connection, the port
# it was accepted on and the original destination the portal rule rewrote.
LISTENER = r"""
import socket, struct, sys, threading
bind = sys.argv[1]
SO_ORIGINAL_DST = 80
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((bind, port)); s.listen(64)
    while True:
        c, peer = s.accept()
        try:
            raw = c.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
            oport, oip = struct.unpack("!2xH4s8x", raw)
            c.sendall(("%d %s:%d\n" % (port, socket.inet_ntoa(oip), oport)).encode())
        finally: c.close()
for p in sys.argv[2:]:
    threading.Thread(target=serve, args=(int(p),), daemon=True).start()
print("ready", flush=True)
threading.Event().wait(600)   # bounded: the test terminates it long before
"""

EXTERNAL_IP = "203.0.113.7"
LB_IP = "198.51.100.20"
# The proxy ports are given (the settings' userspace.proxyPorts, as for a real node's audit),
# except api's, which svccore allocates: the lowest free port of the range.
PORTS = {"shop/web:http": 36005, "shop/lb": 36007}
API_PORT = 36000


def prerequisites():
    return harness_prerequisites(TAG, ("ip", "iptables-restore", "iptables-save"), "iptables iproute2", "network namespaces, iptables")


class Renderer:
    def __init__(self, cmd):
        self.cmd = cmd

    def __call__(self, files, settings, form):
        args = list(self.cmd) + ["--mode", "userspace", "--proxier-settings", settings, "--form", form]
        for f in files:
            args += ["-f", f]
        return run(args).stdout.decode()


def load(render, ns, name, files, settings):
    """Loads the restore then the jumps payload into namespace `name`; True when both load."""
    for form in ("restore", "jumps"):
        p = ns.ex(name, ["iptables-restore", "--noflush"], inp=render(files, settings, form).encode(), check_rc=False)
        if not check(p.returncode == 0, "load %s payload with iptables-restore --noflush" % form,
                     p.stderr.decode(errors="replace")):
            return False
    return True


def same_as_save(render, ns, name, files, settings, label):
    real = strip_comments(ns.ex(name, ["iptables-save"]).stdout.decode())
    predicted = render(files, settings, "save")
    detail = "".join(difflib.unified_diff(predicted.splitlines(True), real.splitlines(True), "svccore save form", "iptables-save"))
    return check(real == predicted, "%s: iptables-save equals svccore's save form" % label, detail)


def test_load(render, tmp):
    cases = [
        ("proxy on every address", {"nodeName": "node-a", "userspace": {"portRange": "36000-36009"}}),
        ("proxy bound to one address", {"nodeName": "node-a", "userspace": {
            "portRange": "36000-36009", "bindAddress": "192.168.0.10", "proxyPorts": {"shop/web:http": 40000}}}),
    ]
    for label, settings in cases:
        sfile = write_json(tmp, "load-proxy.json", settings)
        ns = Netns(TAG)
        try:
            n = ns.add("load")
            if load(render, ns, n, [LOAD_CASE], sfile):
                same_as_save(render, ns, n, [LOAD_CASE], sfile, "load " + label)
        finally:
            ns.close()


def node_cluster():
    svc = lambda name, spec, status=None: dict(  # noqa: E731
        apiVersion="v1", kind="Service", metadata={"name": name, "namespace": "shop"}, spec=spec,
        **({"status": status} if status else {}))
    return {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a"},
         "status": {"addresses": [{"type": "InternalIP", "address": NODE_IP}]}},
        svc("web", {"type": "NodePort", "clusterIP": "10.96.1.1", "externalIPs": [EXTERNAL_IP],
                    "ports": [{"name": "http", "port": 80, "nodePort": 30080}]}),
        svc("api", {"clusterIP": "10.96.2.2", "ports": [{"port": 8080}]}),
        svc("lb", {"type": "LoadBalancer", "clusterIP": "10.96.3.3", "ports": [{"port": 443, "nodePort": 30443}]},
            {"loadBalancer": {"ingress": [{"ip": LB_IP}]}}),
    ]}


def rule_packets(ns, node, chain, dst, dport):
    """Packets counted by the rule of `chain` matching -d dst (or none) and --dport."""
    total = 0
    for line in ns.ex(node, ["iptables-save", "-c", "-t", "nat"]).stdout.decode().splitlines():
        if " -A %s " % chain not in line or " --dport %d " % dport not in line:
            continue
        if (dst is None) != (" -d " not in line) or (dst and " -d %s/32 " % dst not in line):
            continue
        total += int(line[1:line.index(":")])
    return total


def test_redirect(render, tmp, bind):
    cfile = write_json(tmp, "node-cluster.json", node_cluster())
    us = {"portRange": "36000-36009", "proxyPorts": PORTS}
    if bind:
        us["bindAddress"] = NODE_IP
    sfile = write_json(tmp, "node-proxy.json", {"nodeName": "node-a", "userspace": us})
    label = "bound to %s" % NODE_IP if bind else "on 0.0.0.0"
    ns = Netns(TAG)
    try:
        node = ns.add("node")

        pod = ns.add("pod")
        ns.link(node, pod, "vp", "10.244.9.1/24", POD_CLIENT + "/24")
        ext = ns.add("ext")
        ns.link(node, ext, "ve", NODE_IP + "/24", EXT_CLIENT + "/24")
        # The external IP is routed to this node and held by it (the case kube-proxy's
        # dst-type LOCAL rules are for); service IPs leave by the default route unless a rule
        # sends them to the proxy. The gateway namespace does not forward.
        ns.ex(node, ["ip", "addr", "add", EXTERNAL_IP + "/32", "dev", "lo"])
        ns.ex(node, ["ip", "route", "add", "default", "via", EXT_CLIENT])

        ports = sorted(set(PORTS.values()) | {API_PORT})
        listener = ns.spawn(node, [sys.executable, "-c", LISTENER, NODE_IP if bind else "0.0.0.0"] + [str(p) for p in ports])
        line = listener.stdout.readline().decode().strip()
        if line != "ready":
            raise RuntimeError("listener did not start: %s" % listener.stderr.read().decode(errors="replace"))
        if not load(render, ns, node, [cfile], sfile):
            return
        same_as_save(render, ns, node, [cfile], sfile, "redirect node, proxy " + label)

        def connect(src_ns, dst, port):
            p = ns.ex(src_ns, [sys.executable, "-c", CLIENT, dst, str(port), "1", "3"], timeout=30)
            return json.loads(p.stdout.decode())[0]

        web, lb = PORTS["shop/web:http"], PORTS["shop/lb"]
        cases = [
            ("pod", "cluster IP", "10.96.1.1", 80, web, "KUBE-PORTALS-CONTAINER", "10.96.1.1"),
            ("pod", "cluster IP of an allocated port", "10.96.2.2", 8080, API_PORT, "KUBE-PORTALS-CONTAINER", "10.96.2.2"),
            ("pod", "external IP", EXTERNAL_IP, 80, web, "KUBE-PORTALS-CONTAINER", EXTERNAL_IP),
            ("pod", "load-balancer IP", LB_IP, 443, lb, "KUBE-PORTALS-CONTAINER", LB_IP),
            ("ext", "node port", NODE_IP, 30080, web, "KUBE-NODEPORT-CONTAINER", None),
            ("ext", "external IP", EXTERNAL_IP, 80, web, "KUBE-PORTALS-CONTAINER", EXTERNAL_IP),
            ("node", "cluster IP", "10.96.1.1", 80, web, "KUBE-PORTALS-HOST", "10.96.1.1"),
            ("node", "load-balancer IP", LB_IP, 443, lb, "KUBE-PORTALS-HOST", LB_IP),
            ("node", "local external IP", EXTERNAL_IP, 80, web, "KUBE-PORTALS-HOST", EXTERNAL_IP),
            ("node", "node port", NODE_IP, 30443, lb, "KUBE-NODEPORT-HOST", None),
        ]
        where = {"pod": pod, "ext": ext, "node": node}
        for src, what, dst, port, proxy_port, chain, rule_dst in cases:
            before = rule_packets(ns, node, chain, rule_dst, port)
            reply = connect(where[src], dst, port)
            after = rule_packets(ns, node, chain, rule_dst, port)
            want = "%d %s:%d" % (proxy_port, dst, port)
            check(reply == want and after > before,
                  "proxy %s: %s from the %s: %s:%d reaches proxy port %d through %s" % (
                      label, what, src, dst, port, proxy_port, chain),
                  "reply %r (want %r), %s rule packets %d -> %d" % (reply, want, chain, before, after))
    finally:
        ns.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--renderer", help="renderer command (default: cargo run -q -p svccore --example render_iptables --)")
    ap.add_argument("--only", choices=["load", "redirect"])
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args()
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
    tmp = tempfile.mkdtemp(prefix="svccore-userspace-")
    start = time.time()
    try:
        if a.only in (None, "load"):
            test_load(render, tmp)
        if a.only in (None, "redirect"):
            for bind in (False, True):
                try:
                    test_redirect(render, tmp, bind)
                except Exception as e:  # a setup failure is a failed test, with its reason
                    check(False, "redirect node setup", "%s: %s" % (type(e).__name__, e))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log("userspace kernel tests took %.1fs" % (time.time() - start))
    log("%d passed, %d failed" % (RESULTS["passed"], RESULTS["failed"]))
    return 0 if RESULTS["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
