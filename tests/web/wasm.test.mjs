// The WebAssembly binding under Node.js: every export, the errors' kind/path/issues, the
// TypeScript declarations, and the size budget of the module the playground ships.
//
// Run by `make test-wasm`, which builds the module for Node.js (target/wasm-node) and for the
// web (web-demo/pkg) first and passes their folders in SVCCORE_WASM_NODE_PKG / _WEB_PKG.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const nodePkg = process.env.SVCCORE_WASM_NODE_PKG ?? join(root, "target/wasm-node");
const webPkg = process.env.SVCCORE_WASM_WEB_PKG ?? join(root, "web-demo/pkg");
const GZIP_BUDGET = 400 * 1024;

if (!existsSync(join(nodePkg, "svccore_wasm.js"))) {
  throw new Error(`no Node.js build of the module in ${nodePkg}: run \`make wasm-node\` (or \`make test-wasm\`)`);
}
const wasm = createRequire(import.meta.url)(join(nodePkg, "svccore_wasm.js"));
const example = (f) => readFileSync(join(root, "examples", f), "utf8");
const bad = (f) => readFileSync(join(root, "tests/bad-manifests", f), "utf8");
const BASE = ["load", "validate", "services", "endpoints", "nodes", "warnings"];
const RECORDS = ["trace", "simulate", "balancer"];
const TEXT_VIEWS = ["iptables-restore", "iptables-save", "nftables-dump", "nftables-load", "nftables-list", "ipvsadm-ln", "ipvsadm-save", "ipset-save", "ipvs-iptables", "ipvs-addresses", "userspace-restore", "userspace-jumps", "userspace-save"];

/** Calls `fn`, asserts it throws an SvcCoreError, returns it. */
function thrown(fn) {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof Error, "an Error instance");
    assert.equal(e.name, "SvcCoreError");
    assert.equal(typeof e.message, "string");
    assert.equal(typeof e.kind, "string");
    assert.equal(typeof e.path, "string");
    assert.ok(Array.isArray(e.issues));
    return e;
  }
  assert.fail("expected an SvcCoreError");
}

test("capabilities lists the base operations first, then only strings, no duplicates", () => {
  const caps = wasm.capabilities();
  assert.deepEqual(caps.slice(0, BASE.length), BASE);
  assert.deepEqual(caps.slice(BASE.length), [...RECORDS, ...TEXT_VIEWS]);
  assert.ok(caps.every((c) => typeof c === "string" && c.length > 0));
  assert.equal(new Set(caps).size, caps.length);
});

test("version is the crate's", () => {
  assert.match(wasm.version(), /^\d+\.\d+\.\d+/);
});

test("every example loads, validates clean and has services, nodes and warnings", () => {
  for (const f of readdirSync(join(root, "examples")).filter((f) => /\.(ya?ml|json)$/.test(f))) {
    const c = wasm.loadCluster(example(f), f);
    assert.ok(c instanceof wasm.Cluster, f);
    assert.deepEqual(c.validate(), [], `${f} validates`);
    const s = c.services();
    assert.equal(s.family, "IPv4");
    assert.ok(s.ports.length > 0, `${f} has service ports`);
    assert.ok(c.serviceCount >= 1, f);
    assert.ok(Array.isArray(c.nodes()) && c.nodes().length > 0, `${f} has nodes`);
    assert.ok(Array.isArray(c.warnings()), f);
    c.free();
  }
});

test("services: the nginx study's programmed ports, their fields, and the skipped services", () => {
  const c = wasm.loadCluster(example("nginx-study.yaml"), "nginx-study.yaml");
  const s = c.services("IPv4");
  const names = s.ports.map((p) => p.servicePortName);
  assert.deepEqual(names, ["study/service-clusterip", "study/service-loadbalancer", "study/service-nodeport"]);
  const lb = s.ports.find((p) => p.name === "service-loadbalancer");
  assert.equal(lb.type, "LoadBalancer");
  assert.equal(lb.clusterIP, "10.108.12.40");
  assert.equal(lb.port, 80);
  assert.equal(lb.protocol, "TCP");
  assert.equal(lb.targetPort, "http");
  assert.equal(lb.nodePort, 31426);
  assert.equal(lb.healthCheckNodePort, 32100);
  assert.deepEqual(lb.loadBalancerIPs, ["10.101.135.10"]);
  assert.deepEqual(lb.sourceRanges, ["10.101.0.0/16", "192.168.100.0/24"]);
  assert.equal(lb.externalPolicyLocal, true);
  assert.equal(lb.usesLocalEndpoints, true);
  assert.equal(lb.affinitySeconds, null);
  assert.equal(lb.endpoints.length, 3);
  const e = lb.endpoints[0];
  for (const k of ["endpoint", "ip", "port", "ready", "serving", "terminating", "nodeName", "zone", "zoneHints", "nodeHints"]) {
    assert.ok(k in e, `endpoint record has ${k}`);
  }
  assert.equal(e.port, 80);
  const cip = s.ports.find((p) => p.name === "service-clusterip");
  assert.equal(cip.nodePort, null);
  assert.equal(cip.targetPort, 80);
  const skipped = Object.fromEntries(s.skipped.map((x) => [x.name, x]));
  assert.match(skipped["service-headliness"].reason, /headless/);
  assert.match(skipped["service-externalname"].reason, /ExternalName/);
  assert.equal(skipped["service-externalname"].externalName, "www.baidu.com");
  // An IPv4-only cluster has nothing for an IPv6 kube-proxy.
  assert.equal(c.services("IPv6").ports.length, 0);
});

test("services: {endpoints: false} leaves the lists out and keeps the counts", () => {
  const c = wasm.loadCluster(example("nginx-study.yaml"));
  const full = c.services();
  const light = c.services("IPv4", { endpoints: false });
  assert.deepEqual(light.ports.map((p) => p.endpointCount), full.ports.map((p) => p.endpoints.length));
  assert.ok(light.ports.every((p) => p.endpoints.length === 0));
  assert.deepEqual(light.ports.map(({ endpoints, ...rest }) => rest), full.ports.map(({ endpoints, ...rest }) => rest));
  assert.deepEqual(light.skipped, full.skipped);
  assert.equal(thrown(() => c.services("IPv4", { endpoints: "no" })).path, "endpoints");
});

test("services: ClientIP affinity carries its timeout", () => {
  const c = wasm.loadCluster(example("nginx-affinity.yaml"));
  const p = c.services().ports.find((p) => p.affinitySeconds !== null);
  assert.equal(p.affinitySeconds, 10800);
});

test("endpoints: ETP Local gives each node its own local list (node1 two, node2 one, master none)", () => {
  const c = wasm.loadCluster(example("nginx-study.yaml"));
  const lb = (node) => c.endpoints(node).ports.find((p) => p.name === "service-loadbalancer");
  assert.equal(lb("node1").local.length, 2);
  assert.equal(lb("node2").local.length, 1);
  assert.equal(lb("master").local.length, 0);
  for (const n of ["node1", "node2", "master"]) {
    assert.equal(lb(n).cluster.length, 3, `${n} cluster list`);
    assert.equal(lb(n).hasEndpoints, true);
    assert.equal(lb(n).topologyMode, "None");
  }
  const v = c.endpoints("node2", "IPv4");
  assert.equal(v.node, "node2");
  assert.equal(v.zone, "zone-b");
  assert.equal(v.knownNode, true);
  assert.equal(v.family, "IPv4");
  const local = lb("node2").local[0];
  assert.equal(lb("node2").endpoints.find((e) => e.endpoint === local).nodeName, "node2");
  // A ClusterIP service without Local policies is the same everywhere.
  const cip = v.ports.find((p) => p.name === "service-clusterip");
  assert.equal(cip.usesLocalEndpoints, false);
  assert.deepEqual(cip.local, []);
  assert.equal(c.endpoints("no-such-node").knownNode, false);
});

test("nodeDifferences: only the ETP Local port differs between the nginx nodes, with each node's counts", () => {
  const c = wasm.loadCluster(example("nginx-study.yaml"));
  const d = c.nodeDifferences();
  assert.equal(d.family, "IPv4");
  assert.deepEqual(d.nodes, ["master", "node1", "node2"]);
  assert.deepEqual(d.ports, [
    {
      servicePortName: "study/service-loadbalancer",
      usesClusterEndpoints: true,
      usesLocalEndpoints: true,
      cluster: [3, 3, 3],
      local: [0, 2, 1],
    },
  ]);
  // Nothing differs where no policy is Local.
  assert.deepEqual(wasm.loadCluster(example("redis.yaml")).nodeDifferences().ports, []);
});

test("nodes: names, zones, labels, addresses", () => {
  const c = wasm.loadCluster(example("nginx-study.yaml"));
  const nodes = c.nodes();
  assert.deepEqual(nodes.map((n) => n.name), ["master", "node1", "node2"]);
  assert.equal(nodes[2].zone, "zone-b");
  assert.equal(nodes[2].labels["kubernetes.io/hostname"], "node2");
  assert.deepEqual(nodes[2].addresses[0], { type: "InternalIP", address: "192.168.100.52" });
  assert.ok(Array.isArray(nodes[0].podCIDRs));
});

test("warnings: skipped kinds are reported with their file and path", () => {
  const text = `apiVersion: v1
kind: ConfigMap
metadata: {name: x}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
`;
  const w = wasm.loadCluster(text, "mixed.yaml").warnings();
  const skip = w.find((i) => /ConfigMap/.test(i.message));
  assert.ok(skip, JSON.stringify(w));
  assert.equal(skip.file, "mixed.yaml");
  assert.equal(skip.path, "[0]");
});

test("a syntax error throws kind parse with the line in its path", () => {
  const e = thrown(() => wasm.loadCluster('{"apiVersion": "v1", "kind": ', "broken.json"));
  assert.equal(e.kind, "parse");
  assert.match(e.path, /^line \d+ column \d+$/);
  assert.equal(e.file, "broken.json");
  assert.equal(e.issues.length, 1);
  assert.deepEqual(Object.keys(e.issues[0]).sort(), ["file", "message", "path"]);
  assert.match(e.message, /cannot parse input/);
});

test("a structural error throws kind manifest with every issue's path", () => {
  const e = thrown(() => wasm.loadCluster(bad("port-is-string.yaml"), "port-is-string.yaml"));
  assert.equal(e.kind, "manifest");
  assert.equal(e.path, "spec.ports[0].port");
  assert.equal(e.issues[0].path, "spec.ports[0].port");
  assert.equal(e.issues[0].file, "port-is-string.yaml");
});

test("port 70000: validate() names spec.ports[0].port and services() throws kind validation", () => {
  const c = wasm.loadCluster(bad("port-out-of-range.yaml"), "port-out-of-range.yaml");
  const issues = c.validate();
  assert.equal(issues[0].path, "spec.ports[0].port");
  assert.match(issues[0].message, /65535, got 70000/);
  assert.equal(issues[0].file, "port-out-of-range.yaml");
  const e = thrown(() => c.services());
  assert.equal(e.kind, "validation");
  assert.equal(e.path, "spec.ports[0].port");
  assert.equal(thrown(() => c.endpoints("node1")).kind, "validation");
});

test("every bad manifest is refused with its path, through load or validate", () => {
  const expected = JSON.parse(bad("expected.json"));
  const failures = [];
  for (const [file, want] of Object.entries(expected)) {
    let issues;
    try {
      issues = wasm.loadCluster(bad(file), file).validate();
    } catch (e) {
      assert.equal(e.name, "SvcCoreError", file);
      assert.ok(["parse", "manifest"].includes(e.kind), `${file}: kind ${e.kind}`);
      issues = e.issues;
    }
    const hit = issues.some(
      (i) =>
        (i.path === want.path || (want.path.startsWith("line") && i.path.startsWith("line"))) &&
        i.message.includes(want.message),
    );
    if (!hit) failures.push(`${file}: want ${want.path}: ${want.message}; got ${JSON.stringify(issues)}`);
  }
  assert.deepEqual(failures, []);
});

test("bad arguments throw kind invalid-argument", () => {
  const c = wasm.loadCluster(example("redis.yaml"));
  assert.equal(thrown(() => c.services("IPv5")).kind, "invalid-argument");
  assert.equal(thrown(() => c.endpoints("k8smaster", "ipv4")).kind, "invalid-argument");
  const e = thrown(() => c.render("no-such-view", { node: "k8smaster" }));
  assert.equal(e.kind, "invalid-argument");
  assert.equal(e.path, "view");
  assert.match(e.message, /not available in this build/);
  const n = thrown(() => c.render("iptables-restore", { node: 5 }));
  assert.equal(n.kind, "invalid-argument");
  assert.equal(n.path, "node");
  assert.deepEqual(n.issues, [{ file: null, path: "node", message: n.message }]);
});

test("render: every text view this build lists renders text for every node", () => {
  const c = wasm.loadCluster(example("nginx-study.yaml"));
  for (const view of TEXT_VIEWS) {
    for (const node of ["master", "node1", "node2", ""]) {
      const text = c.render(view, { node, family: "IPv4" });
      assert.equal(typeof text, "string", view);
      assert.ok(text.length > 0, `${view} on ${node || "no node"} is not empty`);
    }
  }
});

test("render: the iptables views are kube-proxy's rules for the node (ETP Local differs per node)", () => {
  const c = wasm.loadCluster(example("nginx-study.yaml"));
  const restore = c.render("iptables-restore", { node: "node2" });
  assert.match(restore, /^\*filter\n/);
  assert.match(restore, /\n\*nat\n/);
  assert.match(restore, /^-A KUBE-SERVICES -m comment --comment "study\/service-clusterip cluster IP" -m tcp -p tcp -d 10\.97\.97\.97 --dport 80 -j KUBE-SVC-[A-Z0-9]{16}$/m);
  assert.match(restore, /^-A KUBE-SVC-\S+ .* --probability 0\.3333333333 -j KUBE-SEP-/m);
  // ETP Local: node2 has one local endpoint for the LoadBalancer, master none.
  const svl = (node) => c.render("iptables-restore", { node }).match(/^-A KUBE-SVL-\S+ .*-j KUBE-SEP-/gm) ?? [];
  assert.equal(svl("node2").length, 1);
  assert.equal(svl("node1").length, 2);
  assert.equal(svl("master").length, 0);
  const save = c.render("iptables-save", { node: "node2" });
  assert.match(save, /^\*mangle|^\*filter|^\*nat/m);
  assert.match(save, /-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES/);
  assert.match(save, /^COMMIT$/m);
  assert.match(save, / --probability 0\.33333333349 /); // iptables-save prints the kernel's value
  // An IPv6 kube-proxy of an IPv4-only cluster has nothing to program, but renders.
  assert.doesNotMatch(c.render("iptables-restore", { node: "node2", family: "IPv6" }), /KUBE-SVC-/);
});

test("render: the IPVS views, with the scheduler option", () => {
  const c = wasm.loadCluster(example("nginx-study.yaml"));
  const ln = c.render("ipvsadm-ln", { node: "node2" });
  assert.match(ln, /^IP Virtual Server version 1\.2\.1/);
  assert.match(ln, /^TCP {2}10\.108\.12\.40:80 rr$/m);
  assert.match(ln, /-> 10\.244\.\d+\.\d+:80 +Masq +1 +0 +0/);
  assert.match(c.render("ipvsadm-ln", { node: "node2", scheduler: "sh" }), /^TCP {2}10\.108\.12\.40:80 sh$/m);
  assert.match(c.render("ipvsadm-save", { node: "node2" }), /^-A -t 10\.108\.12\.40:80 -s rr$/m);
  assert.match(c.render("ipset-save", { node: "node2" }), /^create KUBE-CLUSTER-IP hash:ip,port/m);
  assert.match(c.render("ipset-save", { node: "node2" }), /^add KUBE-CLUSTER-IP 10\.108\.12\.40,tcp:80$/m);
  assert.match(c.render("ipvs-iptables", { node: "node2" }), /KUBE-CLUSTER-IP/);
  const addr = c.render("ipvs-addresses", { node: "node2" });
  assert.match(addr, /kube-ipvs0: <BROADCAST,NOARP>/);
  assert.match(addr, /inet 10\.108\.12\.40\/32 scope global kube-ipvs0/);
  const e = thrown(() => c.render("ipvsadm-ln", { node: "node2", scheduler: "fastest" }));
  assert.equal(e.kind, "invalid-argument");
  assert.equal(e.path, "scheduler");
  assert.match(e.message, /rr, wrr/);
  const f = thrown(() => c.render("ipvsadm-ln", { family: "IPv5" }));
  assert.equal(f.path, "family");
  const u = thrown(() => c.render("ipvsadm-ln", { nodes: "node2" }));
  assert.equal(u.path, "nodes");
  assert.match(u.message, /unknown option "nodes" \(known: node, family, scheduler\)/);
});

// ---- nftables ---------------------------------------------------------------------------------

const NFT_CASES = join(root, "tests/conformance/nftables");
const nftCases = () => readdirSync(NFT_CASES).filter((d) => existsSync(join(NFT_CASES, d, "expected.txt"))).sort();
const nftCase = (name) => {
  const dir = join(NFT_CASES, name);
  const cluster = wasm.loadCluster(readFileSync(join(dir, "cluster.json"), "utf8"), "cluster.json");
  return { dir, cluster, proxy: JSON.parse(readFileSync(join(dir, "proxy.json"), "utf8")) };
};

test("renderNftables: every conformance case's dump is kube-proxy's expected text after the tests' normalization", () => {
  const cases = nftCases();
  assert.equal(cases.length, 13, cases.join(", "));
  const tmp = mkdtempSync(join(tmpdir(), "svccore-nft-"));
  try {
    const failed = [];
    for (const name of cases) {
      const { cluster, proxy } = nftCase(name);
      const file = join(tmp, `${name}.txt`);
      writeFileSync(file, cluster.renderNftables({ proxierSettings: proxy, form: "dump" }));
      // check_fixtures.py --compare applies kube-proxy's sortNFTablesTransaction and diffs.
      const r = spawnSync("python3", [join(NFT_CASES, "check_fixtures.py"), "--compare", name, file], { encoding: "utf8" });
      if (r.status !== 0) failed.push(`${name}: ${r.stdout}${r.stderr}`);
    }
    assert.deepEqual(failed, []);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

/** An `nft list` text cut into its top-level objects (set, map, chain, with their bodies), sorted. */
function nftObjects(text) {
  const blocks = [];
  let cur = null;
  for (const line of text.split("\n")) {
    if (/^\t\S/.test(line)) blocks.push((cur = [line]));
    else if (cur && line.startsWith("\t\t")) cur.push(line);
    else if (cur && line === "\t}") (cur.push(line), (cur = null));
  }
  return blocks.map((b) => b.join("\n")).sort();
}

test("renderNftables: the list form is what nft printed for every conformance case (objects in creation order)", () => {
  // kernel-list.txt: `nft list ruleset` (nftables 1.0.6) after loading the case with objects
  // created in name order; the list form lists them in the order its load form creates them.
  for (const name of nftCases()) {
    const { dir, cluster, proxy } = nftCase(name);
    const got = cluster.renderNftables({ proxierSettings: JSON.stringify(proxy), form: "list" });
    const want = readFileSync(join(dir, "kernel-list.txt"), "utf8");
    assert.equal(got.split("\n")[0], "table ip kube-proxy {", name);
    assert.equal(got.endsWith("}\n"), true, name);
    assert.ok(nftObjects(want).length > 10, name);
    assert.deepEqual(nftObjects(got), nftObjects(want), name);
  }
});

test("renderNftables: the load form is the dump's lines in the order nft -f accepts", () => {
  const { cluster, proxy } = nftCase("overall");
  const dump = cluster.renderNftables({ proxierSettings: proxy });
  const load = cluster.renderNftables({ proxierSettings: proxy, form: "load" });
  assert.deepEqual(load.split("\n").sort(), dump.split("\n").sort());
  const kinds = load.trimEnd().split("\n").map((l) => l.split(" ")[1]);
  const order = ["table", "chain", "set", "map", "rule", "element"];
  const ranks = kinds.map((k) => order.indexOf(k));
  assert.ok(ranks.every((r) => r >= 0), "only add table/chain/set/map/rule/element lines");
  assert.deepEqual(ranks, [...ranks].sort((a, b) => a - b), "table, chains, sets, maps, rules, elements");
});

test("renderNftables: a node's table from the cluster's Node, KubeProxyConfiguration-free, with flags", () => {
  const c = wasm.loadCluster(example("nginx-study.yaml"));
  const dump = c.renderNftables({ node: "node2", clusterCIDR: "10.244.0.0/16" });
  assert.match(dump, /^add table ip kube-proxy \{ comment "rules for kube-proxy" ; \}$/m);
  assert.match(dump, /^add element ip kube-proxy cluster-ips \{ 10\.97\.97\.97 \}$/m);
  assert.match(dump, /^add element ip kube-proxy service-ips \{ 10\.108\.12\.40 \. tcp \. 80 : goto service-[A-Z2-7]{8}-study\/service-loadbalancer\/tcp\/ \}$/m);
  assert.match(dump, /^add rule ip kube-proxy service-[A-Z2-7]{8}-study\/service-loadbalancer\/tcp\/ numgen random mod 3 vmap \{ 0 : goto endpoint-/m);
  // The local-traffic detector of --cluster-cidr: traffic from outside the pod network to a
  // cluster IP is masqueraded.
  assert.match(dump, /^add rule ip kube-proxy service-\S+ ip daddr 10\.108\.12\.40 ip saddr != 10\.244\.0\.0\/16 jump mark-for-masquerade$/m);
  // The node port on the node's own IP (nodePortAddresses unset: every local address).
  assert.match(dump, /^add element ip kube-proxy service-nodeports \{ tcp \. 31426 : goto external-/m);
  // ETP Local: node2's external chain for the LoadBalancer reaches only its local endpoint.
  const local = (node) => (c.renderNftables({ node }).match(/^add rule ip kube-proxy local-\S+ .*goto endpoint-.*$/gm) ?? []).join("\n");
  assert.match(local("node2"), /numgen random mod 1 vmap \{ 0 : goto endpoint-\S+__10\.244\.104\.10\/80 \}$/);
  assert.match(local("node1"), /numgen random mod 2 /);
  assert.equal(local("master"), "");
  // No ServiceCIDR object: serviceCIDRs adds the drop rule for unallocated cluster IPs.
  assert.doesNotMatch(dump, /unallocated/);
  assert.match(
    c.renderNftables({ node: "node2", serviceCIDRs: ["10.96.0.0/12"] }),
    /^add rule ip kube-proxy cluster-ips-check ip daddr \{ 10\.96\.0\.0\/12 \} drop comment "Drop traffic to unallocated ClusterIPs"$/m,
  );
  // The text views are the same renderer with the node and family.
  for (const form of ["dump", "load", "list"]) {
    assert.equal(c.render(`nftables-${form}`, { node: "node1" }), c.renderNftables({ node: "node1", form }));
  }
  assert.match(c.renderNftables({ node: "node1", family: "IPv6", form: "list" }), /^table ip6 kube-proxy \{/);
});

test("nftablesServiceCidrs: the cluster's ServiceCIDR objects over the serviceCIDRs option, and renderNftables uses them", () => {
  const study = example("nginx-study.yaml");
  const none = wasm.loadCluster(study).nftablesServiceCidrs({ node: "node2" });
  assert.deepEqual(none, {
    source: "none",
    names: [],
    cidrs: [],
    message: "no service CIDRs (no ServiceCIDR object, none in the proxier settings): no drop rule for unallocated cluster IPs",
  });
  const flag = wasm.loadCluster(study).nftablesServiceCidrs({ serviceCIDRs: "10.96.0.0/12" });
  assert.equal(flag.source, "settings");
  assert.deepEqual(flag.cidrs, ["10.96.0.0/12"]);
  const objects = `${study}\n---\napiVersion: networking.k8s.io/v1\nkind: ServiceCIDR\nmetadata: {name: kubernetes}\nspec: {cidrs: [10.96.0.0/12, "fd00:10:96::/112"]}\n`;
  const c = wasm.loadCluster(objects);
  const o = c.nftablesServiceCidrs({ serviceCIDRs: ["172.30.0.0/16"] });
  assert.equal(o.source, "objects");
  assert.deepEqual(o.names, ["kubernetes"]);
  assert.deepEqual(o.cidrs, ["10.96.0.0/12", "fd00:10:96::/112"]);
  assert.match(o.message, /from 1 ServiceCIDR object \(kubernetes\)/);
  const dump = c.renderNftables({ node: "node2", serviceCIDRs: ["172.30.0.0/16"] });
  assert.match(dump, /^add rule ip kube-proxy cluster-ips-check ip daddr \{ 10\.96\.0\.0\/12 \} drop comment "Drop traffic to unallocated ClusterIPs"$/m);
  assert.doesNotMatch(dump, /172\.30\./);
  assert.match(c.renderNftables({ node: "node2", family: "IPv6" }), /ip6 daddr \{ fd00:10:96::\/112 \} drop/);
  const e = thrown(() => c.nftablesServiceCidrs({ form: "list" }));
  assert.equal(e.path, "form");
});

test("renderNftables: bad options throw with the option's path", () => {
  const c = wasm.loadCluster(example("nginx-study.yaml"));
  const cases = [
    [{ form: "save" }, "invalid-argument", "form", /expected dump, load or list/],
    [{ family: "IPv5" }, "invalid-argument", "family", /IPv5/],
    [{ randomFully: true }, "invalid-argument", "randomFully", /unknown option "randomFully"/],
    [{ scheduler: "rr" }, "invalid-argument", "scheduler", /unknown option/],
    [{ serviceCIDRs: ["10.96.0.0/33"] }, "config", "serviceCIDRs[0]", /is not a CIDR/],
    [{ masqueradeAll: "yes" }, "invalid-argument", "masqueradeAll", /true or false/],
    [{ masqueradeBit: 40 }, "invalid-argument", "masqueradeBit", /between 0 and 31/],
    [{ masqueradeBit: 3, masqueradeMark: "0x4000" }, "invalid-argument", "masqueradeMark", /not both/],
    [{ proxierSettings: { staleChain: [] } }, "config", "staleChain", /unknown field/],
    [{ proxierSettings: { nodeIPs: ["nope"] } }, "config", "nodeIPs[0]", /is not an IP/],
    [{ proxierSettings: "{" }, "config", "line 1 column 1", /EOF/],
  ];
  for (const [opts, kind, path, message] of cases) {
    const e = thrown(() => c.renderNftables(opts));
    const what = JSON.stringify(opts);
    assert.equal(e.kind, kind, what);
    assert.equal(e.path, path, what);
    assert.match(e.message, message, what);
  }
  assert.equal(thrown(() => c.renderNftables({ proxierSettings: { nodeIPs: ["nope"] } })).file, "proxierSettings");
});

test("services: the skipped reason comes with a stable code", () => {
  const s = wasm.loadCluster(example("nginx-study.yaml")).services();
  const codes = Object.fromEntries(s.skipped.map((x) => [x.name, x.reasonCode]));
  assert.deepEqual(codes, { "service-headliness": "headless", "service-externalname": "external-name" });
  const v6 = wasm.loadCluster(example("nginx-study.yaml")).services("IPv6");
  assert.ok(v6.skipped.some((x) => x.reasonCode === "no-cluster-ip-of-family" && x.reason === "no cluster IP of this family"));
});

// ---- trace ------------------------------------------------------------------------------------

const LB = { node: "node2", src: "10.244.2.9", dst: "10.108.12.40:80", proto: "tcp", from: "pod" };

test("trace (iptables): every path to the LoadBalancer's cluster IP, with exact probabilities", () => {
  const c = wasm.loadCluster(example("nginx-study.yaml"));
  const t = c.trace(LB);
  assert.equal(t.mode, "iptables");
  assert.equal(t.node, "node2");
  assert.deepEqual(t.packet, { src: "10.244.2.9", dst: "10.108.12.40", dstPort: 80, protocol: "TCP", origin: "LocalPod", inInterface: null, recent: [] });
  assert.equal(t.outcomes.length, 3);
  assert.deepEqual(t.outcomes.map((o) => o.verdict.kind), ["Dnat", "Dnat", "Dnat"]);
  assert.deepEqual(t.outcomes.map((o) => o.probability.nominal), ["1/3", "1/3", "1/3"]);
  assert.equal(t.outcomes[0].probability.fraction, "715827883/2147483648");
  const sum = t.outcomes.reduce((a, o) => a + o.probability.decimal, 0);
  assert.ok(Math.abs(sum - 1) < 1e-12, `probabilities sum to ${sum}`);
  const o = t.outcomes[0];
  assert.equal(o.masquerade, false);
  assert.match(o.verdict.endpoint, /^10\.244\.\d+\.\d+:80$/);
  assert.match(o.verdict.chain, /^KUBE-SEP-/);
  const chains = o.steps.map((s) => s.chain);
  assert.deepEqual(chains.slice(0, 4), ["PREROUTING", "KUBE-SERVICES", chains[2], o.verdict.chain]);
  assert.match(chains[2], /^KUBE-SVC-/);
  for (const s of o.steps) {
    assert.deepEqual(Object.keys(s).sort(), ["chain", "effect", "rule", "table", "text"]);
  }
  // The same destination as an IP plus port; traced again from the cached rules.
  assert.deepEqual(c.trace({ ...LB, dst: "10.108.12.40", port: 80 }), t);
  // Another node's rules are its own.
  assert.equal(c.trace({ ...LB, node: "master" }).node, "master");
  assert.deepEqual(c.trace(LB), t);
});

test("trace (iptables): from outside to the node port, master (ETP Local, no local endpoint) drops", () => {
  const c = wasm.loadCluster(example("nginx-study.yaml"));
  const master = c.nodes().find((n) => n.name === "master").addresses[0].address;
  const t = c.trace({ node: "master", src: "203.0.113.9", dst: `${master}:31426`, from: "external" });
  assert.deepEqual(t.outcomes.map((o) => o.verdict.kind), ["Drop"]);
  const node1 = c.nodes().find((n) => n.name === "node1").addresses[0].address;
  const t1 = c.trace({ node: "node1", src: "203.0.113.9", dst: `${node1}:31426`, from: "external" });
  assert.equal(t1.outcomes.length, 2);
  assert.deepEqual(t1.outcomes.map((o) => o.probability.nominal), ["1/2", "1/2"]);
  // Not a service: accepted, not DNATed.
  const a = c.trace({ node: "node1", src: "10.244.1.5", dst: "10.1.2.3:80" });
  assert.deepEqual(a.outcomes.map((o) => o.verdict.kind), ["Accept"]);
});

test("trace (ipvs): the virtual server, its real servers and the scheduler's pick", () => {
  const c = wasm.loadCluster(example("nginx-study.yaml"));
  const t = c.trace({ ...LB, mode: "ipvs" });
  assert.equal(t.mode, "ipvs");
  assert.equal(t.lookup.kind, "cluster-ip");
  assert.equal(t.lookup.virtualServer, "TCP  10.108.12.40:80");
  assert.equal(t.lookup.scheduler, "rr");
  assert.equal(t.lookup.realServers.length, 3);
  assert.deepEqual(t.shares, [1 / 3, 1 / 3, 1 / 3]);
  // rr starts at the newest real server (added last, in ascending order).
  assert.equal(t.pick, t.lookup.realServers.map((r) => r.address).sort().at(-1));
  assert.equal(t.lookup.realServers[t.pickIndex].address, t.pick);
  const sh = c.trace({ ...LB, mode: "ipvs", scheduler: "sh" });
  assert.equal(sh.lookup.scheduler, "sh");
  assert.equal(c.trace({ ...LB, mode: "ipvs", scheduler: "sh" }).pick, sh.pick);
  const none = c.trace({ ...LB, dst: "10.108.12.40:81", mode: "ipvs" });
  assert.equal(none.lookup, null);
  assert.equal(none.pick, null);
  assert.match(none.note, /no virtual server/);
  // ClientIP affinity is IPVS persistence.
  const aff = wasm.loadCluster(example("nginx-affinity.yaml")).trace({ node: "node1", src: "10.244.1.5", dst: "10.97.97.97:80", mode: "ipvs" });
  assert.equal(aff.lookup.persistentSeconds, 10800);
  assert.match(aff.note, /persistence 10800s/);
});

test("trace (nftables): the kube-proxy table's paths, numgen's exact shares, the drop for ETP Local", () => {
  const c = wasm.loadCluster(example("nginx-study.yaml"));
  const t = c.trace({ ...LB, mode: "nftables" });
  assert.equal(t.mode, "nftables");
  assert.equal(t.node, "node2");
  // numgen random mod 3: reciprocal_scale of a 32-bit random gives 0 one more value of 2^32.
  assert.deepEqual(
    t.outcomes.map((o) => [o.verdict.kind, o.probability.fraction, o.probability.nominal]),
    [
      ["Dnat", "715827883/2147483648", "1/3"],
      ["Dnat", "1431655765/4294967296", "1/3"],
      ["Dnat", "1431655765/4294967296", "1/3"],
    ],
  );
  assert.equal(t.outcomes.reduce((a, o) => a + o.probability.decimal, 0), 1);
  assert.deepEqual(t.outcomes.map((o) => o.verdict.endpoint).sort(), ["10.244.104.10:80", "10.244.166.129:80", "10.244.166.191:80"]);
  const o = t.outcomes[0];
  assert.ok(o.verdict.chain.startsWith("endpoint-"), o.verdict.chain);
  assert.deepEqual(
    o.steps.slice(0, 4).map((s) => `${s.table} ${s.chain}`),
    ["filter filter-prerouting-pre-dnat", "nat nat-prerouting", "nat services", `nat ${o.steps[3].chain}`],
  );
  assert.match(o.steps[2].effect, /^@service-ips 10\.108\.12\.40 \. tcp \. 80: goto service-/);
  assert.match(o.steps[3].text, /^numgen random mod 3 vmap/);
  assert.equal(o.masquerade, false);
  // From outside to master's node port: ETP Local without a local endpoint is dropped.
  const d = c.trace({ node: "master", src: "203.0.113.9", dst: "192.168.100.53:31426", from: "external", mode: "nftables" });
  assert.deepEqual(d.outcomes.map((x) => x.verdict), [{ kind: "Drop", reason: "study/service-loadbalancer has no local endpoints" }]);
  assert.equal(d.outcomes[0].steps.at(-1).chain, "nodeport-endpoints-check");
  // The same through the affinity example: the client in the affinity set keeps its endpoint.
  const a = wasm.loadCluster(example("nginx-affinity.yaml"));
  const first = a.trace({ node: "master", src: "10.244.104.10", dst: "10.97.97.97:80", mode: "nftables" });
  assert.equal(first.outcomes.length, 3);
  const set = first.outcomes[1].steps.map((s) => /@(affinity-\S+)/.exec(s.text)?.[1]).find(Boolean);
  assert.ok(set, JSON.stringify(first.outcomes[1].steps.map((s) => s.text)));
  const held = a.trace({ node: "master", src: "10.244.104.10", dst: "10.97.97.97:80", mode: "nftables", recent: [set] });
  assert.equal(held.outcomes.length, 1);
  assert.equal(held.outcomes[0].probability.fraction, "1");
  assert.equal(held.outcomes[0].verdict.endpoint, first.outcomes[1].verdict.endpoint);
});

test("userspace views: the portal rules of one service; the trace is not in this build", () => {
  const c = wasm.loadCluster(example("nginx-affinity.yaml"));
  // The proxy ports come from the kernel's ephemeral range without a portRange (svccore's choice).
  const restore = c.render("userspace-restore", { node: "master" });
  assert.ok(
    restore.includes('-A KUBE-PORTALS-CONTAINER -m comment --comment "study/service-clusterip" -p tcp -m tcp --dport 80 -d 10.97.97.97/32 -j REDIRECT --to-ports 32768\n'),
    restore,
  );
  assert.ok(restore.includes("-j DNAT --to-destination 192.168.100.53:32768\n"), restore);
  const save = c.render("userspace-save", { node: "master" });
  assert.match(save, /^-A KUBE-PORTALS-HOST -d 10\.97\.97\.97\/32 -p tcp -m comment --comment "study\/service-clusterip" -m tcp --dport 80 -j DNAT --to-destination 192\.168\.100\.53:32768$/m);
  assert.match(c.render("userspace-jumps", { node: "master" }), /^-I PREROUTING -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER$/m);
  // The trace: the portal rule sends the packet to the proxy port, then one path per endpoint.
  const t = c.trace({ node: "master", src: "10.244.104.10", dst: "10.97.97.97:80", mode: "userspace" });
  assert.equal(t.mode, "userspace");
  assert.equal(t.outcomes.length, 3);
  for (const o of t.outcomes) {
    assert.equal(o.probability.fraction, "1/3");
    assert.ok(o.steps.some((s) => s.effect === "REDIRECT to the proxy port 32768 of study/service-clusterip"), JSON.stringify(o.steps));
    assert.equal(o.verdict.chain, "proxy tcp port 32768");
  }
  const e = thrown(() => c.trace({ node: "master", src: "10.244.104.10", dst: "10.97.97.97:80", mode: "userspace-x" }));
  assert.equal(e.path, "mode");
});

test("simulate (nftables): numgen random's exact shares are what the engine promises", () => {
  const c = wasm.loadCluster(example("nginx-study.yaml"));
  const r = c.simulate({ service: "study/service-clusterip", node: "node2", scheduler: "nftables", connections: 30000, seed: 5 });
  assert.equal(r.algorithm, "nftables");
  assert.equal(r.connections, 30000);
  assert.deepEqual(r.endpoints.map((e) => e.expectedShare), [715827883 / 2147483648, 1431655765 / 4294967296, 1431655765 / 4294967296]);
  assert.equal(r.endpoints.reduce((a, e) => a + e.picks, 0), 30000);
  // Each share within 5 binomial standard deviations of its promise.
  for (const e of r.endpoints) assert.ok(Math.abs(e.share - e.expectedShare) < 5 * Math.sqrt(e.expectedShare * (1 - e.expectedShare) / 30000), JSON.stringify(e));
});

test("trace: bad options throw invalid-argument with the option's path", () => {
  const c = wasm.loadCluster(example("nginx-study.yaml"));
  const cases = [
    [{ src: "10.0.0.1" }, "dst", /dst is required/],
    [{ ...LB, dst: "10.108.12.40" }, "dst", /has no port: write ip:port/],
    [{ ...LB, dst: "nginx:80" }, "dst", /not ip:port/],
    [{ ...LB, src: "a.b.c.d" }, "src", /not an IP address/],
    [{ ...LB, src: "fd00::1" }, "src", /different IP families/],
    [{ ...LB, proto: "icmp" }, "proto", /tcp, udp or sctp/],
    [{ ...LB, from: "mars" }, "from", /pod, node, other-node or external/],
    [{ ...LB, mode: "kernelspace" }, "mode", /expected iptables, ipvs, nftables or userspace/],
    [{ ...LB, mode: "nftables", scheduler: "rr" }, "scheduler", /applies to mode "ipvs" only/],
    [{ ...LB, mode: "ipvs", scheduler: "fo" }, "scheduler", /unknown IPVS scheduler "fo"/],
    [{ ...LB, mode: "ipvs", srcPort: 70000 }, "srcPort", /between 0 and 65535/],
    [{ ...LB, color: "red" }, "color", /unknown option/],
    [{ ...LB, recent: [1] }, "recent[0]", /must be a string/],
  ];
  for (const [opts, path, message] of cases) {
    const e = thrown(() => c.trace(opts));
    assert.equal(e.kind, "invalid-argument", JSON.stringify(opts));
    assert.equal(e.path, path, JSON.stringify(opts));
    assert.match(e.message, message);
    assert.equal(e.issues[0].path, path);
  }
  assert.equal(thrown(() => c.trace()).path, "dst");
  assert.equal(thrown(() => c.trace("10.0.0.1")).kind, "invalid-argument");
  // A cluster kube-proxy refuses: kind validation with the manifest's path.
  const refused = wasm.loadCluster(bad("port-out-of-range.yaml"), "port-out-of-range.yaml");
  const v = thrown(() => refused.trace({ src: "10.0.0.1", dst: "10.0.0.2:80" }));
  assert.equal(v.kind, "validation");
  assert.equal(v.path, "spec.ports[0].port");
});

// ---- simulate ---------------------------------------------------------------------------------

test("simulate: rr spreads exactly evenly; samples and the IPVS listing come back", () => {
  const c = wasm.loadCluster(example("nginx-study.yaml"));
  const r = c.simulate({ service: "study/service-clusterip", scheduler: "rr", connections: 3000, samples: 50 });
  assert.equal(r.servicePort, "study/service-clusterip");
  assert.equal(r.algorithm, "rr");
  assert.equal(r.source, "pod");
  assert.equal(r.endpointList, "cluster");
  assert.equal(r.node, "master");
  assert.equal(r.connections, 3000);
  assert.deepEqual(r.endpoints.map((e) => e.picks), [1000, 1000, 1000]);
  assert.equal(r.balance, 1);
  assert.equal(r.samples.length, 50);
  assert.deepEqual(Object.keys(r.samples[0]).sort(), ["client", "endpoint", "time"]);
  assert.match(r.ipvsListing, /TCP {2}10\.97\.97\.97:80 rr/);
  for (const k of ["endpoint", "node", "picks", "share", "expectedShare", "clients", "active", "inactive"]) {
    assert.ok(k in r.endpoints[0], `endpoint stat has ${k}`);
  }
  assert.equal(r.affinity, null);
  // The same seed gives the same numbers; another seed other ones.
  const a = c.simulate({ service: "study/service-clusterip", seed: 7, connections: 2000 });
  const b = c.simulate({ service: "study/service-clusterip", seed: 7, connections: 2000 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.endpoints.map((e) => e.picks), c.simulate({ service: "study/service-clusterip", seed: 8, connections: 2000 }).endpoints.map((e) => e.picks));
  assert.ok(Math.abs(a.endpoints[0].expectedShare - 0.33333333348855376) < 1e-15);
});

test("simulate: ClientIP affinity pins clients; ETP Local from outside uses the node's endpoints", () => {
  const aff = wasm.loadCluster(example("nginx-affinity.yaml"));
  const r = aff.simulate({ service: "study/service-clusterip", clients: 10, connections: 500, duration: 600, samples: 500 });
  assert.equal(r.affinity.timeoutSeconds, 10800);
  assert.equal(r.affinity.broken, 0);
  assert.equal(r.affinity.clientsPinned, r.affinity.clients);
  const off = aff.simulate({ service: "study/service-clusterip", clients: 10, connections: 500, affinityTimeout: 0 });
  assert.equal(off.affinity, null);
  const c = wasm.loadCluster(example("nginx-study.yaml"));
  const lb = (node) => c.simulate({ service: "study/service-loadbalancer", node, from: "external", connections: 100 });
  assert.equal(lb("node1").endpoints.length, 2);
  assert.equal(lb("node1").endpointList, "local");
  assert.equal(lb("master").dropped, 100);
  assert.match(lb("master").note, /externalTrafficPolicy: Local/);
});

test("simulate: bad options throw with the option's path", () => {
  const c = wasm.loadCluster(example("nginx-study.yaml"));
  const cases = [
    [{}, "invalid-argument", "service", /service is required/],
    [{ service: "study/nope" }, "unknown-service", "service", /unknown service study\/nope/],
    [{ service: "study/service-clusterip", scheduler: "random" }, "invalid-argument", "scheduler", /unknown selection algorithm/],
    [{ service: "study/service-clusterip", from: "moon" }, "invalid-argument", "from", /unknown traffic source/],
    [{ service: "study/service-clusterip", clients: 0 }, "invalid-argument", "clients", /between 1 and/],
    [{ service: "study/service-clusterip", connections: 1.5 }, "invalid-argument", "connections", /whole number/],
    [{ service: "study/service-clusterip", duration: -1 }, "invalid-argument", "duration", /seconds/],
    [{ service: "study/service-clusterip", affinityTimeout: 90000 }, "invalid-argument", "affinityTimeout", /86400/],
    [{ service: "study/service-clusterip", flags: "mh-sideways" }, "invalid-argument", "flags", /unknown scheduler flag/],
    [{ service: "study/service-clusterip", speed: 1 }, "invalid-argument", "speed", /unknown option/],
  ];
  for (const [opts, kind, path, message] of cases) {
    const e = thrown(() => c.simulate(opts));
    assert.equal(e.kind, kind, JSON.stringify(opts));
    assert.equal(e.path, path, JSON.stringify(opts));
    assert.match(e.message, message);
  }
});

// ---- Balancer ---------------------------------------------------------------------------------

test("Balancer: the engines pick as the core does (rr newest first, maglev stable, affinity)", () => {
  const three = ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"];
  const rr = new wasm.Balancer("rr", three);
  assert.equal(rr.algorithm, "rr");
  assert.deepEqual(rr.backends, three);
  // Python's doctest: the same sequence.
  assert.deepEqual([0, 1, 2, 3].map(() => rr.pick("192.0.2.1")), ["10.0.0.3:80", "10.0.0.2:80", "10.0.0.1:80", "10.0.0.3:80"]);
  assert.equal(new wasm.Balancer("rr", ["10.0.0.1:80", "10.0.0.2:80"]).pickIndex("192.0.2.1"), 1);
  const m = new wasm.Balancer("maglev", ["10.0.0.1:80", "10.0.0.2:80"], { tableSize: 251 });
  assert.equal(m.pick("192.0.2.7"), m.pick("192.0.2.7"));
  const ip = new wasm.Balancer("iptables", ["10.0.0.1:80", "10.0.0.2:80"], { affinityTimeout: 10, seed: 3 });
  const first = ip.pick("192.0.2.1", undefined, 0);
  assert.equal(ip.pick("192.0.2.1", undefined, 9), first);
  const drained = new wasm.Balancer("wrr", ["10.0.0.1:80", "10.0.0.2:80"], { weights: [0, 0] });
  assert.equal(drained.pick("192.0.2.1"), undefined);
  const mh = new wasm.Balancer("mh", three, { flags: ["mh-port"], tableSize: 251 });
  assert.equal(mh.pick("192.0.2.1", 1000), mh.pick("192.0.2.1", 1000));
  // Same seed, same picks.
  const seq = (seed) => {
    const b = new wasm.Balancer("iptables", three, { seed });
    return Array.from({ length: 20 }, (_, i) => b.pickIndex(`192.0.2.${i + 1}`));
  };
  assert.deepEqual(seq(5), seq(5));
});

test("Balancer: bad arguments throw invalid-argument with their path", () => {
  const cases = [
    [() => new wasm.Balancer("random", ["10.0.0.1:80"]), "algorithm", /unknown selection algorithm/],
    [() => new wasm.Balancer("rr", []), "backends", /no backends/],
    [() => new wasm.Balancer("rr", ["10.0.0.1:80", "web:80"]), "backends[1]", /not ip:port/],
    [() => new wasm.Balancer("rr", ["10.0.0.1:80"], { weights: [1, 2] }), "weights", /2 weights for 1 backends/],
    [() => new wasm.Balancer("rr", ["10.0.0.1:80"], { weights: [-1] }), "weights[0]", /whole number/],
    [() => new wasm.Balancer("rr", ["10.0.0.1:80"], { affinity: "sticky" }), "affinity", /recent, persistence or lru/],
    [() => new wasm.Balancer("rr", ["10.0.0.1:80"], { flags: "mh-port" }), "", /flag/],
    [() => new wasm.Balancer("rr", ["10.0.0.1:80"], { tablesize: 7 }), "tablesize", /unknown option/],
    [() => new wasm.Balancer("rr", ["10.0.0.1:80"]).pick("nope"), "clientIp", /not an IP address/],
  ];
  for (const [fn, path, message] of cases) {
    const e = thrown(fn);
    assert.equal(e.kind, "invalid-argument", String(fn));
    assert.equal(e.path, path, String(fn));
    assert.match(e.message, message, String(fn));
  }
});

test("a freed handle cannot be used again", () => {
  const c = wasm.loadCluster(example("redis.yaml"));
  c.free();
  assert.throws(() => c.services());
});

test("the TypeScript declarations type every export and record", () => {
  const dts = readFileSync(join(nodePkg, "svccore_wasm.d.ts"), "utf8");
  for (const s of [
    "export function loadCluster(",
    "export function capabilities(): Capability[]",
    "export class Cluster",
    "validate(): Issue[]",
    "services(family?: IpFamily, options?: ServicesOptions",
    "endpoints(node: string, family?: IpFamily",
    "nodes(): NodeRecord[]",
    "nodeDifferences(family?: IpFamily): NodeDifferences",
    "warnings(family?: IpFamily",
    "render(view: string, options?: RenderOptions",
    "renderNftables(options?: NftablesOptions): string",
    "nftablesServiceCidrs(options?: NftablesSettingsOptions): ServiceCidrChoice",
    "interface NftablesOptions",
    "trace(options: TraceOptions): TraceResult",
    "simulate(options: SimulateOptions): SimulationReport",
    "export class Balancer",
    "constructor(algorithm: string, backends: string[], options?: BalancerOptions",
    "pick(clientIp: string, clientPort?: number | null, now?: number | null): string | undefined",
    "interface IptablesTrace",
    "interface IpvsTrace",
    "interface SimulationReport",
    "interface SvcCoreError extends Error",
    "interface ServicesView",
    "interface NodeEndpoints",
  ]) {
    assert.ok(dts.includes(s), `d.ts has ${s}`);
  }
});

test(`the shipped .wasm is at most ${GZIP_BUDGET / 1024} KB gzipped`, () => {
  const file = join(webPkg, "svccore_wasm_bg.wasm");
  assert.ok(existsSync(file), `${file} exists (run \`make wasm\`)`);
  const raw = readFileSync(file);
  const gz = gzipSync(raw, { level: 9 }).length;
  console.log(`# svccore_wasm_bg.wasm: ${raw.length} bytes, ${gz} gzipped (budget ${GZIP_BUDGET})`);
  assert.ok(gz <= GZIP_BUDGET, `${gz} bytes gzipped > ${GZIP_BUDGET}`);
});

test("names: the core's lists, and the TypeScript types list the same schedulers and sources", () => {
  const n = wasm.names();
  assert.deepEqual(n.ipvsSchedulers, ["rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "dh", "mh"]);
  assert.deepEqual(n.trafficSources, ["pod", "node", "other-node", "external"]);
  assert.deepEqual(n.protocols, ["tcp", "udp", "sctp"]);
  assert.ok(n.ipvsSchedulers.every((s) => n.algorithms.includes(s)));
  const types = readFileSync(join(root, "bindings-wasm/src/types.d.ts"), "utf8");
  const union = (name) =>
    [...types.match(new RegExp(`export type ${name} = ([^;]+);`))[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(union("IpvsScheduler"), n.ipvsSchedulers);
  assert.deepEqual(union("TrafficSource"), [...n.trafficSources, "host"]);
  const algorithms = union("Algorithm");
  assert.deepEqual(
    [...algorithms, ...n.ipvsSchedulers].sort(),
    [...n.algorithms].sort(),
    "the Algorithm type lists every algorithm of the core",
  );
});

test("trace: from node is the node itself (OUTPUT), other-node enters from the network", () => {
  const c = wasm.loadCluster(example("nginx-study.yaml"));
  const base = { node: "node1", src: "192.168.100.52", dst: "10.108.12.40:80" };
  const host = c.trace({ ...base, from: "node" });
  const other = c.trace({ ...base, from: "other-node" });
  assert.equal(host.packet.origin, "Host");
  assert.equal(c.trace({ ...base, from: "host" }).packet.origin, "Host");
  assert.equal(other.packet.origin, "OtherNode");
  const chains = (t) => new Set(t.outcomes.flatMap((o) => o.steps.map((s) => s.chain)));
  assert.ok(chains(host).has("OUTPUT"));
  assert.ok(!chains(other).has("OUTPUT"));
});
