// The same calls through the core, Python and the WebAssembly module must give the same answers.
//
// calls.json is the one table: traces (every `from`, every mode, bad arguments), a node's
// endpoints, a proxier's settings, the nftables text of a node (every form, flags, errors) and
// the ServiceCIDRs it drops unallocated cluster IPs in. The core's results come from the cross_language example
// (SVCCORE_CROSS_CORE: the built binary), Python's from run.py under SVCCORE_PYTHON (an
// interpreter with svccore installed), JavaScript's from the Node.js package in
// SVCCORE_WASM_NODE_PKG. `make test-cross` builds all three and sets the variables.
//
// Each binding has its own spelling (Python snake_case, JavaScript camelCase, a different ipvs
// trace record); `view` reduces every result to the facts the three must share.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const table = join(here, "calls.json");
const spec = JSON.parse(readFileSync(table, "utf8"));

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run \`make test-cross\``);
  return v;
}

function runJson(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function jsResults() {
  const wasm = createRequire(import.meta.url)(join(need("SVCCORE_WASM_NODE_PKG"), "svccore_wasm.js"));
  return spec.calls.map(({ cluster, op, args }) => {
    const text = spec.clusters[cluster].map((f) => readFileSync(join(root, f), "utf8") + "\n---\n").join("");
    const c = wasm.loadCluster(text);
    try {
      if (op === "trace") return c.trace(args);
      if (op === "endpoints") return c.endpoints(args.node, args.family);
      if (op === "settings") return c.settings(args);
      if (op === "render_nftables") return { text: c.renderNftables(args) };
      if (op === "nftables_service_cidrs") return c.nftablesServiceCidrs(args);
      throw new Error(`unknown op ${op}`);
    } catch (e) {
      if (!e.kind) throw e;
      return { error: { kind: e.kind, message: e.message } };
    }
  });
}

/** The facts every binding must agree on, whatever its spelling. */
function view(op, r) {
  if (r.error) return { error: r.error };
  if (op === "trace") {
    const origin = r.packet.origin;
    if (r.mode === "ipvs") {
      // Python and the core: one outcome, `ipvs` the virtual server. JavaScript: `lookup` and `pick`.
      const vs = r.ipvs ?? r.lookup;
      const pick = "pick" in r ? r.pick : r.outcomes[0]?.verdict.endpoint;
      return { mode: "ipvs", origin, virtualServer: vs?.virtual_server ?? vs?.virtualServer, scheduler: vs?.scheduler, pick };
    }
    return {
      mode: r.mode,
      origin,
      outcomes: r.outcomes.map((o) => ({
        verdict: o.verdict.kind,
        endpoint: o.verdict.endpoint ?? null,
        reason: o.verdict.reason ?? null,
        cause: o.cause ?? null,
        fraction: o.probability.fraction,
        masquerade: o.masquerade,
        chains: o.steps.map((s) => `${s.table}:${s.chain}`),
      })),
    };
  }
  if (op === "endpoints") {
    const names = (l) => l.map((e) => (typeof e === "string" ? e : e.endpoint));
    return {
      node: r.node,
      knownNode: r.has_node_object ?? r.knownNode,
      family: r.family,
      ports: r.ports.map((p) => ({
        servicePortName: p.service_port_name ?? p.servicePortName,
        hasEndpoints: p.has_endpoints ?? p.hasEndpoints,
        cluster: names(p.cluster),
        local: names(p.local),
        reachable: names(p.reachable),
        clusterFallback: p.cluster_fallback ?? p.clusterFallback,
        localFallback: p.local_fallback ?? p.localFallback,
        topologyMode: p.topology_mode ?? p.topologyMode,
      })),
    };
  }
  if (op === "nftables_service_cidrs") return { source: r.source, cidrs: r.cidrs, message: r.message };
  return r; // settings and render_nftables: the same JSON record everywhere
}

test("the core, Python and JavaScript give the same results for every call of calls.json", () => {
  const core = runJson(need("SVCCORE_CROSS_CORE"), [table]);
  const python = runJson(need("SVCCORE_PYTHON"), [join(here, "run.py"), table]);
  const js = jsResults();
  assert.equal(core.length, spec.calls.length);
  spec.calls.forEach((call, i) => {
    const what = `${call.op} ${JSON.stringify(call.args)} on ${call.cluster}`;
    const want = view(call.op, core[i]);
    assert.deepEqual(view(call.op, python[i]), want, `Python: ${what}`);
    assert.deepEqual(view(call.op, js[i]), want, `JavaScript: ${what}`);
  });
});

test("the table covers what the bindings used to decide apart", () => {
  const core = runJson(need("SVCCORE_CROSS_CORE"), [table]);
  const origins = new Set(core.filter((r) => r.packet).map((r) => r.packet.origin));
  assert.deepEqual([...origins].sort(), ["External", "Host", "LocalPod", "OtherNode"]);
  // `from: "node"` is the node itself: its packets start in OUTPUT; another node's in PREROUTING.
  const first = (i) => core[i].outcomes[0].steps[0].chain;
  assert.equal(first(0), "OUTPUT");
  assert.equal(first(1), "PREROUTING");
  const kinds = core.filter((r, i) => r.error && spec.calls[i].op !== "render_nftables").map((r) => r.error.kind);
  assert.ok(kinds.length >= 5 && kinds.every((k) => k === "invalid-argument"));
  // The nftables text: every form, both families, and an argument and a configuration error.
  const nft = spec.calls.map((c, i) => ({ ...c, result: core[i] })).filter((c) => c.op === "render_nftables");
  const ok = nft.filter((c) => c.result.text);
  assert.deepEqual([...new Set(ok.map((c) => c.args.form ?? "dump"))].sort(), ["dump", "list", "load"]);
  assert.ok(ok.some((c) => c.result.text.startsWith("table ip6 kube-proxy {")));
  assert.deepEqual(nft.filter((c) => c.result.error).map((c) => c.result.error.kind).sort(), ["config", "invalid-argument"]);
  const sources = core.filter((r, i) => spec.calls[i].op === "nftables_service_cidrs").map((r) => r.source);
  assert.deepEqual(sources.sort(), ["none", "objects", "settings"]);
  assert.ok(core.some((r) => r.ipvsScheduler === "mh") && core.some((r) => r.mode === "ipvs"));
  // nftables traces: numgen's branches, the ETP Local drop, and the drop of an unallocated cluster IP.
  const nftVerdicts = core.filter((r) => r.mode === "nftables").flatMap((r) => r.outcomes.map((o) => o.verdict.kind));
  assert.ok(["Dnat", "Drop"].every((k) => nftVerdicts.includes(k)), nftVerdicts.join(" "));
});
