#!/usr/bin/env python3
"""Load svccore's ipvs-mode ipsets and iptables rules into a real kernel, in a throwaway
network namespace.

For each fixture (and IP family) this renders, through the `render_ipvs` example:
  * `ipset save` text      -> `ipset restore` in the namespace, then `ipset save` must list
                              exactly the same sets, types and members;
  * the iptables payload   -> `iptables-restore --noflush` (ip6tables-restore for IPv6) in the
                              same namespace (the rules match the sets with `-m set`), then
                              `iptables-save` must show every chain with as many rules as the
                              payload wrote;
  * `ip addr show kube-ipvs0` -> compared with the kernel's own output on a dummy link, when the
                              kernel can create one.
`-m ipvs` rules (KUBE-IPVS-OUT-FILTER) need the xt_ipvs module; when the kernel lacks it they
are left out of the load and reported as skipped.

Run as root from the repository root:
    python3 tests/ipvs/test_netns.py
Standard library only. Exit status 0 on success.
"""
import os
import re
import subprocess
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "core", "tests", "ipvs_data")
NS = "svccore-ipvs-%d" % os.getpid()

# (label, node, family, files, extra args)
CASES = [
    ("nginx-master", "master", "IPv4", ["nodes.yaml", "nginx.yaml"], []),
    ("nginx-node1", "node1", "IPv4", ["nodes.yaml", "nginx.yaml"], []),
    ("kube-system", "master", "IPv4", ["nodes.yaml", "kube-system.yaml"], []),
    ("rich-v4", "node-a", "IPv4", ["rich.yaml"], []),
    ("rich-v6", "node-a", "IPv6", ["rich.yaml"], []),
    ("rich-v4-mh", "node-a", "IPv4", ["rich.yaml"], ["--scheduler", "mh"]),
]
# The shared seed examples, when this checkout has them.
for _f, _n in (("nginx-study.yaml", "node1"), ("super-front.yaml", "172.30.10.212"), ("kube-system.json", "master")):
    if os.path.exists(os.path.join(ROOT, "examples", _f)):
        CASES.append(("examples/" + _f, _n, "IPv4", [os.path.join("..", "..", "..", "examples", _f)], []))


def run(cmd, stdin=None, check=True):
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p


def nsrun(cmd, stdin=None, check=True):
    return run(["ip", "netns", "exec", NS] + cmd, stdin=stdin, check=check)


def render(form, node, family, files, extra=()):
    cmd = ["cargo", "run", "-q", "-p", "svccore", "--example", "render_ipvs", "--",
           "--node", node, "--family", family, "--form", form] + list(extra)
    cmd += [os.path.join(DATA, f) for f in files]
    return run(cmd).stdout


def parse_ipset(text):
    """{set name: (type, frozenset(members))} from `ipset save`-style text."""
    sets = {}
    for line in text.splitlines():
        f = line.split()
        if not f:
            continue
        if f[0] == "create":
            sets[f[1]] = (f[2], set())
        elif f[0] == "add":
            sets[f[1]][1].add(f[2])
    return {k: (t, frozenset(m)) for k, (t, m) in sets.items()}


def payload_rule_counts(text):
    """{(table, chain): number of rules} for -A/-I lines of an iptables-restore payload."""
    counts, table = {}, None
    for line in text.splitlines():
        if line.startswith("*"):
            table = line[1:]
        m = re.match(r"-[AI] (\S+) ", line)
        if m:
            counts[(table, m.group(1))] = counts.get((table, m.group(1)), 0) + 1
    return counts


class NetnsIpvsMode(unittest.TestCase):
    xt_ipvs = None

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root (creates a network namespace)")
        for tool in ("ip", "ipset", "iptables-restore", "ip6tables-restore", "iptables-save"):
            if run(["sh", "-c", "command -v " + tool], check=False).returncode != 0:
                raise RuntimeError("%s not found: apt-get install -y ipset iptables iproute2" % tool)
        p = run(["ip", "netns", "add", NS], check=False)
        if p.returncode != 0:
            raise RuntimeError("cannot create network namespace %s: %s" % (NS, p.stderr.strip()))
        # Build the example once so the timed runs below do not each compile it.
        run(["cargo", "build", "-q", "-p", "svccore", "--example", "render_ipvs"])
        probe = "*filter\n:SVCCORE-PROBE - [0:0]\n-A SVCCORE-PROBE -m ipvs --vaddr 192.0.2.1 --vproto tcp --vport 1 -j DROP\nCOMMIT\n"
        cls.xt_ipvs = nsrun(["iptables-restore", "--noflush"], stdin=probe, check=False).returncode == 0
        nsrun(["iptables", "-F", "SVCCORE-PROBE"], check=False)
        nsrun(["iptables", "-X", "SVCCORE-PROBE"], check=False)

    @classmethod
    def tearDownClass(cls):
        run(["ip", "netns", "del", NS], check=False)

    def reset(self):
        for tool in ("iptables", "ip6tables"):
            for table in ("nat", "filter"):
                nsrun([tool, "-t", table, "-F"], check=False)
                nsrun([tool, "-t", table, "-X"], check=False)
        nsrun(["ipset", "destroy"], check=False)

    def test_ipsets_and_iptables_load(self):
        skipped_ipvs = 0
        for label, node, family, files, extra in CASES:
            with self.subTest(case=label):
                self.reset()
                sets_text = render("ipset", node, family, files, extra)
                nsrun(["ipset", "restore"], stdin=sets_text)
                want = parse_ipset(sets_text)
                got = parse_ipset(nsrun(["ipset", "save"]).stdout)
                self.assertEqual(set(got), set(want), "set names")
                for name, (stype, members) in want.items():
                    self.assertEqual(got[name][0], stype, name)
                    self.assertEqual(got[name][1], members, name)
                self.assertEqual(len(want), 17)

                payload = render("iptables", node, family, files, extra)
                if not self.xt_ipvs:
                    lines = payload.splitlines(True)
                    kept = [l for l in lines if "-m ipvs" not in l]
                    skipped_ipvs += len(lines) - len(kept)
                    payload = "".join(kept)
                restore = "iptables-restore" if family == "IPv4" else "ip6tables-restore"
                save = "iptables-save" if family == "IPv4" else "ip6tables-save"
                nsrun([restore, "--noflush"], stdin=payload)
                counts = payload_rule_counts(payload)
                for table in ("nat", "filter"):
                    dump = nsrun([save, "-t", table]).stdout
                    for (t, chain), n in counts.items():
                        if t != table:
                            continue
                        got_n = len(re.findall(r"^-A %s " % re.escape(chain), dump, re.M))
                        self.assertEqual(got_n, n, "%s %s/%s" % (label, table, chain))
                    section = payload.split("*" + table + "\n", 1)[1].split("COMMIT", 1)[0]
                    for chain in re.findall(r"^:(KUBE-\S+)", section, re.M):
                        self.assertRegex(dump, r"(?m)^:%s " % re.escape(chain), "%s %s" % (label, chain))
        if skipped_ipvs:
            sys.stderr.write("\nnote: %d '-m ipvs' rule(s) not loaded: this kernel has no xt_ipvs\n" % skipped_ipvs)

    def test_kube_ipvs0_addresses_match_the_kernel(self):
        p = nsrun(["ip", "link", "add", "kube-ipvs0", "type", "dummy"], check=False)
        if p.returncode != 0:
            self.skipTest("kernel cannot create a dummy link here (%s)" % p.stderr.strip())
        try:
            link = nsrun(["ip", "-o", "link", "show", "kube-ipvs0"]).stdout
            ifindex = link.split(":", 1)[0]
            mac = re.search(r"link/ether (\S+)", link).group(1)
            text = render("addresses", "node-a", "IPv4", ["rich.yaml"], ["--ifindex", ifindex, "--mac", mac])
            for m in re.finditer(r"inet6? (\S+) scope", text):
                nsrun(["ip", "addr", "add", m.group(1), "dev", "kube-ipvs0"])
            got = nsrun(["ip", "addr", "show", "kube-ipvs0"]).stdout
            self.assertEqual(got, text)
        finally:
            nsrun(["ip", "link", "del", "kube-ipvs0"], check=False)


if __name__ == "__main__":
    os.chdir(ROOT)
    unittest.main(verbosity=2)
