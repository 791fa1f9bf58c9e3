// The WebAssembly binding under Node.js: every export, the errors' kind/path/issues, the
// TypeScript declarations, and the size budget of the module the playground ships.
//
// Run by `make test-wasm`, which builds the module for Node.js (target/wasm-node) and for the
// web (web-demo/pkg) first and passes their folders in SVCCORE_WASM_NODE_PKG / _WEB_PKG.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { existsSync, readFileSync, readdirSync } from "node:fs";
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
  assert.match(e.message, /not available in this build/);
  assert.equal(thrown(() => c.render("no-such-view", { node: 5 })).kind, "invalid-argument");
});

test("render: every text view this build lists renders text; a missing one says so", () => {
  const caps = wasm.capabilities().filter((c) => !BASE.includes(c));
  const c = wasm.loadCluster(example("nginx-study.yaml"));
  for (const view of caps) {
    if (["chain-graph", "trace", "simulate"].includes(view)) continue; // record-shaped views
    const text = c.render(view, { node: "node2", family: "IPv4" });
    assert.equal(typeof text, "string", view);
    assert.ok(text.length > 0, `${view} is not empty`);
  }
  for (const view of ["iptables-restore", "ipvsadm-ln"].filter((v) => !caps.includes(v))) {
    assert.match(thrown(() => c.render(view, { node: "node2" })).message, /not available in this build/);
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
    "services(family?: IpFamily",
    "endpoints(node: string, family?: IpFamily",
    "nodes(): NodeRecord[]",
    "nodeDifferences(family?: IpFamily): NodeDifferences",
    "warnings(family?: IpFamily",
    "render(view: string, options?: RenderOptions",
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
