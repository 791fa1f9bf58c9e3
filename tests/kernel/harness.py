"""What the kernel tests share (Python 3 standard library only): result counting, commands,
network namespaces that are always deleted, the example inputs, the tiny servers and clients
the node tests run in their namespaces, and the binomial bound their shares are checked with.
"""

import json
import os
import shutil
import subprocess

RESULTS = {"passed": 0, "failed": 0}


def log(msg):
    print(msg, flush=True)


def check(ok, name, detail=""):
    RESULTS["passed" if ok else "failed"] += 1
    log("%s %s%s" % ("PASS" if ok else "FAIL", name, ("" if ok or not detail else "\n    " + detail.replace("\n", "\n    "))))
    return ok


def run(cmd, inp=None, check_rc=True, timeout=120):
    p = subprocess.run(cmd, input=inp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if check_rc and p.returncode != 0:
        raise RuntimeError("%s failed (rc=%d): %s" % (" ".join(cmd), p.returncode, p.stderr.decode(errors="replace").strip()))
    return p


def prerequisites(tag, tools, apt, what):
    """None when the tests can run: `tools` on the PATH (`apt`: the Debian packages), root, and
    a network namespace can be made; else the reason (`what`: what root is needed for)."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        return "missing tools: %s (Debian: apt-get install -y %s)" % (", ".join(missing), apt)
    if os.geteuid() != 0:
        return "must run as root (%s)" % what
    probe = tag + "-probe"
    p = subprocess.run(["ip", "netns", "add", probe], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        return "cannot create a network namespace: %s" % p.stderr.decode(errors="replace").strip()
    subprocess.run(["ip", "netns", "del", probe])
    return None


def strip_comments(text):
    """`iptables-save` output without its `#` comment lines (date and version)."""
    return "".join(l for l in text.splitlines(True) if not l.startswith("#"))


def write_json(tmp, name, obj):
    """Writes `obj` as `tmp/name`; returns the path."""
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        json.dump(obj, f)
    return path


class Netns:
    """Namespaces created here, all deleted by close()."""

    def __init__(self, tag):
        self.tag = tag
        self.names = []
        self.procs = []

    def add(self, short):
        name = "%s-%s" % (self.tag, short)
        run(["ip", "netns", "add", name])
        self.names.append(name)
        self.ex(name, ["ip", "link", "set", "lo", "up"])
        return name

    def ex(self, ns, cmd, **kw):
        return run(["ip", "netns", "exec", ns] + cmd, **kw)

    def link(self, node, peer, node_if, node_addr, peer_addr):
        """A veth pair from namespace `node` (`node_if`, `node_addr`) to `peer` (`eth0`,
        `peer_addr`), the peer's default route via the node's address."""
        run(["ip", "link", "add", node_if, "netns", node, "type", "veth", "peer", "name", "eth0", "netns", peer])
        self.ex(node, ["ip", "addr", "add", node_addr, "dev", node_if])
        self.ex(node, ["ip", "link", "set", node_if, "up"])
        self.ex(peer, ["ip", "addr", "add", peer_addr, "dev", "eth0"])
        self.ex(peer, ["ip", "link", "set", "eth0", "up"])
        self.ex(peer, ["ip", "route", "add", "default", "via", node_addr.split("/")[0]])

    def spawn(self, ns, cmd):
        p = subprocess.Popen(["ip", "netns", "exec", ns] + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.procs.append(p)
        return p

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for n in reversed(self.names):
            subprocess.run(["ip", "netns", "del", n], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def example_inputs(examples):
    """(name, files, settings) for each project example; tolerate the folder missing."""
    if not os.path.isdir(examples):
        return []
    out = []
    for entry in sorted(os.listdir(examples)):
        path = os.path.join(examples, entry)
        exts = (".json", ".yaml", ".yml")
        if os.path.isdir(path):
            files = sorted(os.path.join(path, f) for f in os.listdir(path)
                           if f.endswith(exts) and f != "proxy.json")
            settings = os.path.join(path, "proxy.json")
            if files:
                out.append((entry, files, settings if os.path.isfile(settings) else None))
        elif entry.endswith(exts):
            out.append((entry, [path], None))
    return out


SERVER = r"""
import socket, sys, threading
ip = sys.argv[1]
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(128)
    while True:
        c, peer = s.accept()
        try: c.sendall(("%s %s\n" % (ip, peer[0])).encode())
        finally: c.close()
for p in sys.argv[2:]:
    threading.Thread(target=serve, args=(int(p),), daemon=True).start()
print("ready", flush=True)
threading.Event().wait(600)   # bounded: the test terminates it long before
"""

CLIENT = r"""
import json, socket, sys, time
dst, port, n, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
out = []
for _ in range(n):
    s = socket.socket(); s.settimeout(timeout)
    try:
        s.connect((dst, port)); out.append(s.recv(200).decode().strip())
    except ConnectionRefusedError: out.append("refused")
    except socket.timeout: out.append("timeout")
    except OSError as e: out.append("error %s" % e.errno)
    finally: s.close()
print(json.dumps(out))
"""

NODE_IP = "192.168.50.1"
EXT_CLIENT = "192.168.50.2"
POD_CLIENT = "10.244.9.2"
PODS = ["10.244.1.2", "10.244.2.2", "10.244.3.2"]


def within(count, n, p, sigmas=5.0):
    mean = n * p
    sd = (n * p * (1 - p)) ** 0.5
    return abs(count - mean) <= sigmas * sd + 1
