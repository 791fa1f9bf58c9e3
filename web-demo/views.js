// The playground's views. Each is one entry of VIEWS:
//
//   { id, label,                   // tab id and text
//     needs: ["capability", ...],  // shown when capabilities() lists any of these
//     formats: [[name, label]],    // optional: a Format picker over the listed ones (text views)
//     options: ["node", ...],      // which pickers it uses: node, family, format, filter
//     render(ctx) }                // returns an HTML string or a DOM node; may throw SvcCoreError
//
// ctx = { cluster, caps, node, nodes, family, format, filter, showAll }. A view whose
// capabilities are missing shows a "not available in this build" note instead, so a renderer
// merged into the wasm module turns its tab on with no change here (text views), or with one
// render function (views with their own record shape: chain graph, tracer, simulation).

export const esc = (s) =>
  String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

/** Rows shown before "Show all": a 1,000-service table would take longer to lay out than to compute. */
export const ROW_LIMIT = 100;

/** Applies the view's filter (a substring of `ns/name:port`) and the row limit. */
function limitRows(ports, { filter, showAll }) {
  const f = (filter ?? "").trim().toLowerCase();
  const matching = f ? ports.filter((p) => p.servicePortName.toLowerCase().includes(f)) : ports;
  const shown = showAll ? matching : matching.slice(0, ROW_LIMIT);
  const note =
    shown.length < matching.length
      ? `<p class="more">Showing ${shown.length} of ${matching.length} service ports. <button type="button" class="linkish" data-show-all>Show all</button></p>`
      : "";
  const filtered = f ? ` (${matching.length} matching “${esc(filter)}”)` : "";
  return { shown, note, filtered };
}

const badge = (text, cls = "") => `<span class="badge ${cls}">${esc(text)}</span>`;

export const VIEWS = [
  {
    id: "services",
    label: "Services",
    needs: ["services"],
    options: ["family", "filter"],
    render: servicesView,
  },
  {
    id: "endpoints",
    label: "Endpoints per node",
    needs: ["endpoints"],
    options: ["node", "family", "filter"],
    render: endpointsView,
  },
  {
    id: "iptables",
    label: "iptables",
    needs: ["iptables-restore", "iptables-save"],
    formats: [
      ["iptables-restore", "iptables-restore input"],
      ["iptables-save", "iptables-save output"],
    ],
    options: ["node", "family", "format", "filter"],
    render: textView,
  },
  {
    id: "nftables",
    label: "nftables",
    needs: ["nftables-list", "nftables-dump", "nftables-load"],
    formats: [
      ["nftables-list", "nft list table (the node's listing)"],
      ["nftables-dump", "dump (kube-proxy's unit tests)"],
      ["nftables-load", "nft -f input (load)"],
    ],
    options: ["node", "family", "format", "filter"],
    render: nftablesView,
  },
  {
    id: "ipvs",
    label: "ipvsadm",
    needs: ["ipvsadm-ln", "ipvsadm-save", "ipset-save", "ipvs-iptables", "ipvs-addresses"],
    formats: [
      ["ipvsadm-ln", "ipvsadm -Ln"],
      ["ipvsadm-save", "ipvsadm -S -n"],
      ["ipset-save", "ipset save"],
      ["ipvs-iptables", "iptables-restore input (ipvs mode)"],
      ["ipvs-addresses", "ip addr show kube-ipvs0"],
    ],
    options: ["node", "family", "format", "scheduler", "filter"],
    render: textView,
  },
  {
    id: "userspace",
    label: "userspace",
    needs: ["userspace-save", "userspace-restore", "userspace-jumps"],
    formats: [
      ["userspace-save", "iptables-save output (portal rules)"],
      ["userspace-restore", "iptables-restore input (portal chains)"],
      ["userspace-jumps", "iptables-restore input (jump rules)"],
    ],
    options: ["node", "family", "format", "filter"],
    render: userspaceView,
  },
  // The chain graph and the tracer share the packet form (index.html #packet-form); the
  // simulation has its own (#sim-form). app.js keeps the forms outside the re-rendered panel.
  { id: "graph", label: "Chain graph", needs: ["trace"], options: ["node", "packet", "scheduler"], render: graphView },
  { id: "trace", label: "Packet tracer", needs: ["trace"], options: ["node", "packet", "scheduler"], render: traceView },
  { id: "simulate", label: "Simulation", needs: ["simulate"], options: ["node", "sim"], render: simulateView },
];

/** The capabilities of `view` this build has (in the view's order). */
export const supported = (view, caps) => view.needs.filter((c) => caps.includes(c));

/** Whether the view can be shown with this build. */
export const isAvailable = (view, caps) => view.render !== null && supported(view, caps).length > 0;

/** The note shown for a view this build cannot render. */
export function unavailableView(view, caps) {
  const wants = view.needs.map((c) => `<code>${esc(c)}</code>`).join(" or ");
  const why =
    supported(view, caps).length > 0
      ? `The module lists ${wants}, but this page has no view for it yet.`
      : `It appears when the WebAssembly module lists ${wants} in <code>capabilities()</code>.`;
  return `<div class="unavailable" role="note" data-unavailable="${esc(view.id)}">
    <h3>${esc(view.label)}: not available in this build</h3>
    <p>${why}</p>
    <p class="muted">This build supports: ${caps.map((c) => `<code>${esc(c)}</code>`).join(", ")}.</p>
  </div>`;
}

// ---- Services -------------------------------------------------------------------------------

function servicesView({ cluster, family, filter, showAll }) {
  const v = cluster.services(family);
  const { shown, note, filtered } = limitRows(v.ports, { filter, showAll });
  const rows = shown.map((p) => {
    const ready = p.endpoints.filter((e) => e.ready).length;
    const addresses = [
      `<code>${esc(p.clusterIP)}:${p.port}/${esc(p.protocol)}</code>`,
      p.nodePort ? `node port <code>${p.nodePort}</code>` : "",
      ...p.externalIPs.map((ip) => `external <code>${esc(ip)}</code>`),
      ...p.loadBalancerIPs.map((ip) => `LB <code>${esc(ip)}</code>`),
    ].filter(Boolean);
    const policy = [
      p.externalPolicyLocal ? badge("ETP Local", "local") : "",
      p.internalPolicyLocal ? badge("ITP Local", "local") : "",
      p.affinitySeconds !== null ? badge(`ClientIP ${p.affinitySeconds}s`) : "",
      p.topologyKeys.length ? badge(`topologyKeys ${p.topologyKeys.join(",")}`) : "",
      p.sourceRanges.length ? badge(`source ranges ${p.sourceRanges.join(", ")}`) : "",
      p.healthCheckNodePort ? badge(`health check :${p.healthCheckNodePort}`) : "",
    ].join("");
    const eps = p.endpoints.length
      ? p.endpoints
          .map((e) => `<span class="ep ${e.ready ? "" : "not-ready"}" title="${esc(epTitle(e))}">${esc(e.endpoint)}</span>`)
          .join(" ")
      : `<span class="warn-text">none: traffic is rejected</span>`;
    return `<tr data-spn="${esc(p.servicePortName)}">
      <th scope="row">${esc(p.servicePortName)}<br><small class="muted">${esc(p.type)}</small></th>
      <td>${addresses.join("<br>")}</td>
      <td>${policy || "—"}</td>
      <td><span class="count">${ready}/${p.endpoints.length} ready</span> ${eps}</td>
    </tr>`;
  });
  const skipped = v.skipped.length
    ? `<h3>Not programmed by kube-proxy</h3><ul class="plain">${v.skipped
        .map(
          (s) =>
            `<li data-skipped="${esc(`${s.namespace}/${s.name}`)}"><strong>${esc(`${s.namespace}/${s.name}`)}</strong> (${esc(s.type)}${
              s.externalName ? ` → ${esc(s.externalName)}` : ""
            }): ${esc(s.reason)}</li>`,
        )
        .join("")}</ul>`
    : "";
  return `<p class="summary">${v.ports.length} service port${v.ports.length === 1 ? "" : "s"} programmed (${esc(v.family)})${filtered}.</p>
    <div class="table-wrap"><table class="grid services">
      <thead><tr><th scope="col">Service port</th><th scope="col">Addresses</th>
        <th scope="col">Policy</th><th scope="col">Endpoints</th></tr></thead>
      <tbody>${rows.join("")}</tbody>
    </table></div>${note}${skipped}`;
}

const epTitle = (e) =>
  [
    e.nodeName ? `node ${e.nodeName}` : "no node",
    e.zone ? `zone ${e.zone}` : "",
    e.ready ? "ready" : "not ready",
    e.serving ? "" : "not serving",
    e.terminating ? "terminating" : "",
  ]
    .filter(Boolean)
    .join(", ");

// ---- Endpoints per node ---------------------------------------------------------------------

const MATRIX_MAX_NODES = 12;
const MATRIX_MAX_ROWS = 20;

function endpointsView({ cluster, node, nodes, family, filter, showAll }) {
  const v = cluster.endpoints(node, family);
  const matrix = nodeMatrix(cluster, nodes, node, family);
  const { shown, note, filtered } = limitRows(v.ports, { filter, showAll });
  const rows = shown.map((p) => {
    const notes = [
      p.externalPolicyLocal ? badge("ETP Local", "local") : "",
      p.internalPolicyLocal ? badge("ITP Local", "local") : "",
      p.topologyMode !== "None" ? badge(p.topologyMode, "topo") : "",
      p.clusterFallback ? badge("cluster: terminating fallback", "warn") : "",
      p.localFallback ? badge("local: terminating fallback", "warn") : "",
      p.topologyKeysUnmatched ? badge("topologyKeys: no match", "warn") : "",
      p.hasEndpoints ? "" : badge("no endpoints: REJECT", "warn"),
    ].join("");
    const chips = (list) =>
      list
        .map((ep) => {
          const e = p.endpoints.find((x) => x.endpoint === ep);
          return `<span class="ep ${e?.nodeName === v.node ? "is-local" : ""}" title="${esc(e ? epTitle(e) : "")}">${esc(ep)}<small>${esc(e?.nodeName ?? "")}</small></span>`;
        })
        .join(" ");
    const clusterCell = p.usesClusterEndpoints ? chips(p.cluster) || `<span class="warn-text">none</span>` : `<span class="muted">not used</span>`;
    const localCell = p.usesLocalEndpoints
      ? chips(p.local) || `<span class="warn-text">none on this node</span>`
      : `<span class="muted">not used</span>`;
    return `<tr data-spn="${esc(p.servicePortName)}" data-cluster-count="${p.cluster.length}" data-local-count="${p.local.length}">
      <th scope="row">${esc(p.servicePortName)}<br><small class="muted">${esc(p.type)} ${p.port}/${esc(p.protocol)}</small></th>
      <td>${notes || "—"}</td>
      <td>${clusterCell}</td>
      <td>${localCell}</td>
    </tr>`;
  });
  const where = v.knownNode
    ? `node <strong>${esc(v.node)}</strong>${v.zone ? ` in zone <strong>${esc(v.zone)}</strong>` : ""}`
    : v.node
      ? `node <strong>${esc(v.node)}</strong> (no Node object: no labels, no zone)`
      : `no node (matches no local endpoint)`;
  return `${matrix}
    <p class="summary">What kube-proxy on ${where} uses for each service port${filtered}. <span class="ep is-local">local</span> endpoints run on this node.</p>
    <div class="table-wrap"><table class="grid endpoints">
      <thead><tr><th scope="col">Service port</th><th scope="col">Policy, topology</th>
        <th scope="col">Cluster traffic (KUBE-SVC)</th><th scope="col">Local traffic (KUBE-SVL)</th></tr></thead>
      <tbody>${rows.join("")}</tbody>
    </table></div>${note}`;
}

// Service ports whose endpoint lists differ between nodes (traffic policy Local, topology
// hints, topologyKeys), with each node's counts: the point of picking a node.
function nodeMatrix(cluster, nodes, current, family) {
  if (nodes.length < 2) return "";
  const d = cluster.nodeDifferences(family);
  if (!d.ports.length) {
    return `<p class="summary">Every node uses the same endpoints for every service port (no Local policies or topology in effect).</p>`;
  }
  const zone = Object.fromEntries(nodes.map((n) => [n.name, n.zone]));
  const shown = d.nodes.length > MATRIX_MAX_NODES ? d.nodes.slice(0, MATRIX_MAX_NODES) : d.nodes;
  // The node buttons (data-node) are handled by app.js: a click picks that node.
  const head = shown
    .map(
      (n) =>
        `<th scope="col"><button type="button" class="linkish ${n === current ? "current" : ""}" data-node="${esc(n)}">${esc(n)}</button>${
          zone[n] ? `<br><small class="muted">${esc(zone[n])}</small>` : ""
        }</th>`,
    )
    .join("");
  const rows = d.ports.slice(0, MATRIX_MAX_ROWS).map((p) => {
    const cells = shown
      .map((n, k) => {
        const parts = [];
        if (p.usesClusterEndpoints) parts.push(`${p.cluster[k]} cluster`);
        if (p.usesLocalEndpoints) parts.push(`<strong>${p.local[k]}</strong> local`);
        return `<td class="${n === current ? "current" : ""}">${parts.join(" · ")}</td>`;
      })
      .join("");
    return `<tr><th scope="row">${esc(p.servicePortName)}</th>${cells}</tr>`;
  });
  const more = [
    d.ports.length > MATRIX_MAX_ROWS ? `${d.ports.length - MATRIX_MAX_ROWS} more service ports` : "",
    d.nodes.length > shown.length ? `${d.nodes.length - shown.length} more nodes` : "",
  ].filter(Boolean);
  return `<h3>Where nodes differ</h3>
    <div class="table-wrap matrix-wrap"><table class="grid matrix"><thead><tr><th scope="col">Service port</th>${head}</tr></thead>
    <tbody>${rows.join("")}</tbody></table></div>${more.length ? `<p class="muted">… and ${more.join(", ")}.</p>` : ""}`;
}

// ---- Text views (iptables, nftables, ipvsadm, ipset) ----------------------------------------

/** Lines shown before "Show all": a 1,000-service ruleset is ~15,000 lines. */
export const LINE_LIMIT = 2000;

function textView({ cluster, node, family, format, scheduler, filter, showAll }) {
  const text = cluster.render(format, { node, family, scheduler: scheduler || undefined });
  let lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const total = lines.length;
  const f = (filter ?? "").trim().toLowerCase();
  if (f) lines = lines.filter((l) => l.toLowerCase().includes(f));
  const matching = lines.length;
  if (!showAll && lines.length > LINE_LIMIT) lines = lines.slice(0, LINE_LIMIT);
  const wrap = document.createElement("div");
  const summary = document.createElement("p");
  summary.className = "summary";
  summary.innerHTML = `${total.toLocaleString("en")} lines of <code>${esc(format)}</code> for ${node ? `node <strong>${esc(node)}</strong>` : "no node"}${
    f ? ` (${matching.toLocaleString("en")} matching “${esc(filter)}”)` : ""
  }.`;
  const pre = document.createElement("pre");
  pre.className = "text-output";
  pre.dataset.format = format;
  pre.setAttribute("aria-label", `${format} for node ${node}`);
  pre.textContent = lines.join("\n") + "\n";
  wrap.append(summary, pre);
  if (lines.length < matching) {
    const more = document.createElement("p");
    more.className = "more";
    more.innerHTML = `Showing ${lines.length.toLocaleString("en")} of ${matching.toLocaleString("en")} lines. <button type="button" class="linkish" data-show-all>Show all</button>`;
    wrap.append(more);
  }
  return wrap;
}

/** The nftables text, with where the drop rule's ServiceCIDRs come from (as the CLI's stderr says). */
function nftablesView(ctx) {
  const wrap = textView(ctx);
  const note = document.createElement("p");
  note.className = "note muted service-cidrs";
  note.textContent = ctx.cluster.nftablesServiceCidrs({ node: ctx.node, family: ctx.family }).message;
  wrap.firstChild.after(note);
  return wrap;
}

/** userspace mode's portal rules, with what the mode is and where its proxy ports come from. */
function userspaceView(ctx) {
  const wrap = textView(ctx);
  const note = document.createElement("p");
  note.className = "note muted userspace-note";
  note.textContent =
    "kube-proxy's userspace mode (Kubernetes 1.25 and earlier): kube-proxy itself accepts each connection on a proxy port " +
    "and dials an endpoint; these rules only send service traffic there (REDIRECT from containers, DNAT to the node from " +
    "the node itself). Proxy ports: the lowest free ports of the configuration's portRange, else from 32768 " +
    "(svccore's choice; kube-proxy's are random). svccore trace --mode userspace follows a packet through them.";
  wrap.firstChild.after(note);
  return wrap;
}

// ---- Packet tracer and chain graph -----------------------------------------------------------

const pct = (x) => `${(x * 100).toFixed(x > 0 && x < 0.001 ? 4 : 2)}%`;
const dec = (x) => (x === 1 ? "1" : x.toFixed(6));

/** Runs the trace of the packet form (ctx.packet, resolved by app.js). */
function runTrace({ cluster, node, packet, scheduler }) {
  return cluster.trace({
    node,
    src: packet.src,
    dst: packet.dst,
    proto: packet.proto,
    from: packet.from,
    mode: packet.mode,
    ...(packet.mode === "ipvs" && scheduler ? { scheduler } : {}),
  });
}

const FROM_TEXT = { pod: "a pod on", "other-node": "another node, to", external: "outside the cluster, to", node: "the host network of" };

function packetLine(t, node) {
  const p = t.packet;
  const dst = p.dst.includes(":") ? `[${p.dst}]:${p.dstPort}` : `${p.dst}:${p.dstPort}`;
  const from = { LocalPod: "pod", OtherNode: "other-node", External: "external", Host: "node" }[p.origin];
  return `<code>${esc(p.protocol)} ${esc(p.src)} → ${esc(dst)}</code> from ${esc(FROM_TEXT[from])} node <strong>${esc(node || "(none)")}</strong>, ${esc(t.mode)} mode`;
}

function verdictText(v) {
  switch (v.kind) {
    case "Dnat":
      return `DNAT to <code>${esc(v.endpoint)}</code> <small class="muted">(${esc(v.chain)})</small>`;
    case "Accept":
      return "accepted, not DNATed (not a service address on this node)";
    case "Drop":
      return `<span class="warn-text">DROPPED</span>: ${esc(v.reason)}`;
    case "Reject":
      return `<span class="warn-text">REJECTED</span> (${esc(v.with)}): ${esc(v.reason)}`;
  }
  return esc(JSON.stringify(v));
}

function traceView(ctx) {
  const t = runTrace(ctx);
  if (t.mode === "ipvs") return ipvsTraceView(t, ctx);
  const outcomes = t.outcomes.map((o, i) => {
    const steps = o.steps
      .map(
        (s) =>
          `<li><span class="step-where">${esc(s.table)} <strong>${esc(s.chain)}</strong> #${s.rule}</span> <span class="step-effect">${esc(s.effect)}</span><br><code class="rule">${esc(s.text)}</code></li>`,
      )
      .join("");
    const p = o.probability;
    return `<section class="outcome" data-outcome="${i}" data-verdict="${esc(o.verdict.kind)}" data-endpoint="${esc(o.verdict.endpoint ?? "")}" data-fraction="${esc(p.fraction)}" data-decimal="${p.decimal}" data-nominal="${esc(p.nominal)}" data-masquerade="${o.masquerade}">
      <h4><span class="num">${i + 1}</span> ${verdictText(o.verdict)}${o.masquerade ? ` ${badge("masqueraded (SNAT to the node)", "warn")}` : ""}</h4>
      <p class="prob">probability <strong>${esc(p.nominal)}</strong> as kube-proxy writes it; the kernel's exact <code>${esc(p.fraction)}</code> = <code>${p.decimal.toFixed(12)}</code></p>
      <details${i === 0 ? " open" : ""}><summary>${o.steps.length} rule${o.steps.length === 1 ? "" : "s"} acted</summary><ol class="steps">${steps}</ol></details>
    </section>`;
  });
  const warnings = t.warnings.length ? `<ul class="plain warn-text">${t.warnings.map((w) => `<li>${esc(w)}</li>`).join("")}</ul>` : "";
  return `<p class="summary trace-summary">${packetLine(t, t.node)}: <strong>${t.outcomes.length}</strong> outcome${t.outcomes.length === 1 ? "" : "s"}, most likely first.</p>
    <div class="outcomes">${outcomes.join("")}</div>${warnings}`;
}

function ipvsTraceView(t) {
  const l = t.lookup;
  if (!l) return `<p class="summary trace-summary">${packetLine(t, t.node)}.</p><p class="note">${esc(t.note)}</p>`;
  const rows = l.realServers.map(
    (r, i) => `<tr data-real-server="${esc(r.address)}" class="${i === t.pickIndex ? "picked" : ""}">
      <td><code>${esc(r.address)}</code>${i === t.pickIndex ? ` ${badge("picked for this client", "local")}` : ""}</td>
      <td>${esc(r.forward)}</td><td>${r.weight}</td><td>${pct(t.shares[i])}</td></tr>`,
  );
  const facts = [
    `<code>${esc(l.virtualServer)} ${esc(l.scheduler)}${l.flags ? ` (${esc(l.flags)})` : ""}</code>`,
    `${esc(l.kind)} of <strong>${esc(l.servicePortName)}</strong>`,
    l.persistentSeconds !== null ? badge(`persistent ${l.persistentSeconds}s (ClientIP)`) : "",
    l.localFallback ? badge("Local policy, no local endpoint: falls back to all endpoints", "warn") : badge(`endpoints: ${l.endpointsFrom}`),
    l.boundToKubeIpvs0 ? badge("bound to kube-ipvs0") : "",
  ].filter(Boolean);
  return `<p class="summary trace-summary">${packetLine(t, t.node)}.</p>
    <p>${facts.join(" ")}</p>
    <p class="note">${esc(t.note)}</p>
    <div class="table-wrap"><table class="grid ipvs-trace"><thead><tr><th scope="col">Real server</th><th scope="col">Forward</th><th scope="col">Weight</th><th scope="col">Share of new connections</th></tr></thead>
    <tbody>${rows.join("")}</tbody></table></div>`;
}

/** The graph of a trace: nodes (chains, endpoints, verdicts) and edges with probabilities. */
export function traceGraph(t) {
  const nodes = new Map(); // key -> {key, label, sub, kind, order}
  const edges = new Map(); // "a\u0000b" -> {from, to, p, outcomes: [...]}
  const node = (key, label, sub, kind) => {
    if (!nodes.has(key)) nodes.set(key, { key, label, sub, kind, order: nodes.size });
    return key;
  };
  const edge = (a, b, o) => {
    const k = `${a}\u0000${b}`;
    const e = edges.get(k) ?? { from: a, to: b, p: 0, outcomes: [] };
    e.p += o.probability.decimal;
    e.outcomes.push(o);
    edges.set(k, e);
  };
  if (t.mode === "ipvs") {
    const l = t.lookup;
    const src = node("client", t.packet.src, "client", "client");
    if (!l) {
      edge(src, node("none", "not balanced by IPVS", "no virtual server", "verdict"), { probability: { decimal: 1, nominal: "1", fraction: "1" } });
      return { nodes: [...nodes.values()], edges: [...edges.values()] };
    }
    const vs = node("vs", l.virtualServer, `${l.scheduler}${l.persistentSeconds !== null ? `, persistent ${l.persistentSeconds}s` : ""}`, "chain");
    edge(src, vs, { probability: { decimal: 1, nominal: "1", fraction: "1" } });
    l.realServers.forEach((r, i) => {
      const rs = node(`rs:${r.address}`, r.address, i === t.pickIndex ? "picked for this client" : `weight ${r.weight}`, i === t.pickIndex ? "pod picked" : "pod");
      const p = t.shares[i];
      edge(vs, rs, { probability: { decimal: p, nominal: `${r.weight}/${l.realServers.reduce((a, x) => a + Math.max(0, x.weight), 0)}`, fraction: String(p) } });
    });
    return { nodes: [...nodes.values()], edges: [...edges.values()] };
  }
  for (const o of t.outcomes) {
    const path = t.mode === "nftables" ? nftPath(o, node) : iptablesPath(o, node);
    const v = o.verdict;
    if (v.kind === "Reject" || v.kind === "Drop") {
      const last = o.steps.at(-1);
      if (last && last.table !== "nat") path.push(node(`${last.table}:${last.chain}`, last.chain, last.table, "chain"));
      path.push(node(v.kind, v.kind.toUpperCase(), v.reason, "verdict"));
    } else if (v.kind === "Accept") {
      path.push(node("Accept", "ACCEPT", "delivered as addressed", "verdict"));
    } else {
      path.push(node(`ep:${v.endpoint}`, v.endpoint, "pod", "pod"));
    }
    for (let k = 1; k < path.length; k++) edge(path[k - 1], path[k], o);
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()] };
}

/** An iptables outcome's nodes up to its verdict: the nat chains walked before the packet leaves
 *  nat (DNAT, or no match), first visit each, without the mark chains (they return at once). */
function iptablesPath(o, node) {
  const path = [];
  const seen = new Set();
  for (let i = 0; i < o.steps.length && o.steps[i].table === "nat"; i++) {
    const s = o.steps[i];
    if (/^KUBE-MARK-/.test(s.chain) || seen.has(s.chain)) continue;
    seen.add(s.chain);
    // The comment of the rule that jumped here names the service (port) and address.
    let prev = i > 0 ? /--comment "([^"]*)"/.exec(o.steps[i - 1].text)?.[1] ?? "" : "";
    // A KUBE-SEP's jump comment is "ns/name:port -> ip:port": the endpoint says it all.
    if (prev.includes(" -> ")) prev = `→ ${prev.split(" -> ")[1]}`;
    path.push(node(`nat:${s.chain}`, s.chain, prev || "nat", "chain"));
  }
  return path;
}

// kube-proxy's nftables per-service chains: `service-HASH-ns/name/proto/port` (and external-,
// local-, firewall-), `endpoint-HASH-ns/name/proto/port__ip/port`.
const NFT_CHAIN = /^((?:service|external|local|firewall|endpoint)-[A-Z2-7]{8})-(.*)$/;

/** An nftables outcome's nodes up to its verdict: the nat chains walked up to the DNAT (or the
 *  end), first visit each, without mark-for-masquerade (it returns at once). A per-service
 *  chain is drawn as its hashed prefix over its service port (endpoint chains: the endpoint). */
function nftPath(o, node) {
  const path = [];
  const seen = new Set();
  const dnat = o.steps.findIndex((s) => s.effect.startsWith("dnat to "));
  for (const s of dnat >= 0 ? o.steps.slice(0, dnat + 1) : o.steps) {
    if (s.table !== "nat" || s.chain === "mark-for-masquerade" || seen.has(s.chain)) continue;
    seen.add(s.chain);
    const m = NFT_CHAIN.exec(s.chain);
    const [label, sub] = m ? [m[1], m[2].replace(/^.*__(.*)\/(\d+)$/, "→ $1:$2")] : [s.chain, "nat"];
    path.push(node(`nat:${s.chain}`, label, sub, "chain"));
  }
  return path;
}

const CHAR_W = 6.7;
const BOX_H = 36;
const ROW_GAP = 46;
const COL_GAP = 26;

/** Lays the graph out in layers (longest path from the entry) and draws it as SVG. */
export function graphSvg(g) {
  const rank = new Map(g.nodes.map((n) => [n.key, 0]));
  for (let round = 0; round < g.nodes.length; round++) {
    let changed = false;
    for (const e of g.edges) {
      const r = rank.get(e.from) + 1;
      if (r > rank.get(e.to) && r < g.nodes.length) {
        rank.set(e.to, r);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const layers = [];
  for (const n of g.nodes) (layers[rank.get(n.key)] ??= []).push(n);
  const width = (n) => Math.max(n.label.length * CHAR_W, Math.min(n.sub.length, 46) * 5.4) + 16;
  const pos = new Map();
  let svgW = 0;
  layers.forEach((layer, r) => {
    let x = 10;
    for (const n of layer) {
      const w = width(n);
      pos.set(n.key, { x, y: 10 + r * (BOX_H + ROW_GAP), w });
      x += w + COL_GAP;
    }
    svgW = Math.max(svgW, x);
  });
  // Centre each layer on the widest one.
  layers.forEach((layer) => {
    const last = pos.get(layer.at(-1).key);
    const shift = (svgW - (last.x + last.w + COL_GAP)) / 2;
    for (const n of layer) pos.get(n.key).x += shift;
  });
  const svgH = 20 + layers.length * (BOX_H + ROW_GAP) - ROW_GAP;
  const edges = g.edges.map((e) => {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    const x1 = a.x + a.w / 2;
    const y1 = a.y + BOX_H;
    const x2 = b.x + b.w / 2;
    const y2 = b.y;
    const my = (y1 + y2) / 2;
    const single = e.outcomes.length === 1;
    const o = e.outcomes[0];
    const label = e.p >= 0.9999999 ? "1" : single && o.probability.nominal ? `${o.probability.nominal} · ${dec(e.p)}` : dec(e.p);
    const masq = e.outcomes.every((x) => x.masquerade) && g.nodes.find((n) => n.key === e.to)?.kind.startsWith("pod") ? " · MASQ" : "";
    const text = label + masq;
    const lw = text.length * 6.6 + 10;
    // The label sits on the curve, nearer the child, so that siblings' labels spread out.
    const t = a.x === b.x ? 0.5 : 0.72;
    const u = 1 - t;
    const lx = u * u * u * x1 + 3 * u * u * t * x1 + 3 * u * t * t * x2 + t * t * t * x2;
    const ly = u * u * u * y1 + 3 * u * u * t * my + 3 * u * t * t * my + t * t * t * (y2 - 6);
    const title = single && o.probability.fraction ? `probability ${o.probability.fraction} = ${o.probability.decimal}` : `probability ${e.p}`;
    return `<g class="edge" data-from="${esc(e.from)}" data-to="${esc(e.to)}" data-p="${e.p}">
      <title>${esc(title)}</title>
      <path d="M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2 - 6}" marker-end="url(#arrow)" stroke-width="${1 + 3 * e.p}"/>
      <rect class="edge-label" x="${lx - lw / 2}" y="${ly - 9}" width="${lw}" height="18" rx="4"/>
      <text x="${lx}" y="${ly + 4}" text-anchor="middle">${esc(text)}</text></g>`;
  });
  const boxes = g.nodes.map((n) => {
    const p = pos.get(n.key);
    const sub = n.sub.length > 46 ? `${n.sub.slice(0, 45)}…` : n.sub;
    return `<g class="node ${esc(n.kind)}" data-key="${esc(n.key)}">
      <title>${esc(`${n.label}\n${n.sub}`)}</title>
      <rect x="${p.x}" y="${p.y}" width="${p.w}" height="${BOX_H}" rx="6"/>
      <text class="label" x="${p.x + p.w / 2}" y="${p.y + 15}" text-anchor="middle">${esc(n.label)}</text>
      <text class="sub" x="${p.x + p.w / 2}" y="${p.y + 29}" text-anchor="middle">${esc(sub)}</text></g>`;
  });
  return `<svg class="chain-graph" xmlns="http://www.w3.org/2000/svg" width="${Math.ceil(svgW)}" height="${svgH}" viewBox="0 0 ${Math.ceil(svgW)} ${svgH}" role="img" aria-label="Chain graph">
    <defs><marker id="arrow" viewBox="0 0 10 10" refX="5" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>
    ${edges.join("")}${boxes.join("")}</svg>`;
}

function graphView(ctx) {
  const t = runTrace(ctx);
  const g = traceGraph(t);
  const ends =
    t.mode === "ipvs"
      ? t.lookup
        ? `${t.lookup.realServers.length} real server${t.lookup.realServers.length === 1 ? "" : "s"} behind <code>${esc(t.lookup.virtualServer)}</code> (${esc(t.lookup.servicePortName)}); ${esc(t.note)}`
        : esc(t.note)
      : t.outcomes
          .map((o) => `${o.verdict.kind === "Dnat" ? `<code>${esc(o.verdict.endpoint)}</code>` : esc(o.verdict.kind.toUpperCase())} ${esc(o.probability.nominal)} (${o.probability.decimal.toFixed(6)})`)
          .join(", ");
  return `<p class="summary trace-summary">${packetLine(t, t.node)}.</p>
    <p class="graph-legend">Ends: ${ends}. Edge labels: the share of new connections taking the edge (kube-proxy's nominal fraction · the kernel's exact value); hover for the exact fraction.</p>
    <div class="graph-wrap">${graphSvg(g)}</div>`;
}

// ---- Simulation ------------------------------------------------------------------------------

const PALETTE = ["#2f6fdf", "#e07b24", "#2a9d5b", "#c23b6f", "#7d4fc9", "#8c6d1f", "#1a98a6", "#d1453b", "#5f7d1e", "#b05fb8"];
export const endpointColour = (i) => (i === null || i === undefined ? "var(--muted)" : PALETTE[i % PALETTE.length]);

function simulateView({ cluster, node, sim }) {
  if (!sim.service) return `<p class="summary">No service port to simulate: the manifests program none.</p>`;
  const r = cluster.simulate({
    service: sim.service,
    node: node || undefined,
    scheduler: sim.scheduler,
    from: sim.from,
    clients: sim.clients,
    connections: sim.connections,
    duration: sim.duration,
    seed: sim.seed,
    samples: sim.samples,
    ...(sim.affinityTimeout === "" || sim.affinityTimeout === null ? {} : { affinityTimeout: Number(sim.affinityTimeout) }),
  });
  const max = Math.max(0.0001, ...r.endpoints.map((e) => Math.max(e.share, e.expectedShare)));
  const BAR_W = 360;
  const rowH = 26;
  const labelW = 210;
  const bars = r.endpoints.map((e, i) => {
    const y = i * rowH;
    const w = (e.share / max) * BAR_W;
    const ex = labelW + (e.expectedShare / max) * BAR_W;
    return `<g class="bar" data-endpoint="${esc(e.endpoint)}" data-picks="${e.picks}" data-share="${e.share}" data-expected="${e.expectedShare}">
      <title>${esc(`${e.endpoint}${e.node ? ` on ${e.node}` : ""}: ${e.picks} picks (${pct(e.share)}), expected ${pct(e.expectedShare)}, ${e.clients} clients`)}</title>
      <text class="bar-label" x="${labelW - 8}" y="${y + 17}" text-anchor="end">${esc(e.endpoint)}${e.node ? ` (${esc(e.node)})` : ""}</text>
      <rect x="${labelW}" y="${y + 4}" width="${Math.max(1, w)}" height="${rowH - 8}" rx="3" fill="${endpointColour(i)}"/>
      <line class="expected" x1="${ex}" x2="${ex}" y1="${y + 1}" y2="${y + rowH - 1}"/>
      <text class="bar-value" x="${labelW + Math.max(1, w) + 6}" y="${y + 17}">${e.picks.toLocaleString("en")} · ${pct(e.share)}</text></g>`;
  });
  const chartH = Math.max(rowH, r.endpoints.length * rowH);
  const chart = r.endpoints.length
    ? `<svg class="bars" width="${labelW + BAR_W + 130}" height="${chartH}" viewBox="0 0 ${labelW + BAR_W + 130} ${chartH}" role="img" aria-label="Connections per endpoint">${bars.join("")}</svg>
       <p class="muted small">Bars: connections per endpoint; the thin line marks what the engine promises (iptables: the kernel's exact cascade probability).</p>`
    : "";
  const facts = [
    `<strong>${esc(r.servicePort)}</strong> on node <strong>${esc(r.node || "(none)")}</strong>`,
    `engine <code>${esc(r.algorithm)}</code>`,
    `from ${esc(r.source)} (${esc(r.endpointList)} endpoints)`,
    `${r.connections.toLocaleString("en")} connections from ${r.clients.toLocaleString("en")} clients`,
    r.balance !== null ? `balance ${r.balance.toFixed(3)} (max/min share)` : "",
    r.rejected ? `<span class="warn-text">${r.rejected.toLocaleString("en")} refused</span>` : "",
    r.dropped ? `<span class="warn-text">${r.dropped.toLocaleString("en")} dropped</span>` : "",
  ].filter(Boolean);
  const aff = r.affinity
    ? `<p class="affinity" data-hits="${r.affinity.hits}" data-broken="${r.affinity.broken}">ClientIP affinity ${r.affinity.timeoutSeconds}s: ${r.affinity.hits.toLocaleString("en")} returning connections kept their endpoint, ${r.affinity.broken.toLocaleString("en")} moved; ${r.affinity.clientsPinned} of ${r.affinity.clients} clients stayed on one endpoint.</p>`
    : `<p class="affinity muted">No session affinity: every connection is picked afresh.</p>`;
  return `<p class="summary sim-summary">${facts.join(" · ")}.</p>
    ${r.note ? `<p class="note warn-text">${esc(r.note)}</p>` : ""}
    ${chart}${aff}
    <h3>Timeline of the first ${r.samples.length.toLocaleString("en")} connections</h3>
    ${timelineSvg(r)}
    ${r.ipvsListing ? `<details><summary>ipvsadm -Ln at the end of the run</summary><pre class="text-output">${esc(r.ipvsListing)}</pre></details>` : ""}`;
}

const TIMELINE_ROWS = 24;

/** Time × client, each connection a mark in its endpoint's colour: affinity shows as rows of one colour. */
function timelineSvg(r) {
  if (!r.samples.length) return `<p class="muted">No samples.</p>`;
  const clients = [...new Set(r.samples.map((s) => s.client))].sort((a, b) => a - b).slice(0, TIMELINE_ROWS);
  const row = new Map(clients.map((c, i) => [c, i]));
  const t0 = r.samples[0].time;
  const t1 = Math.max(t0 + 1e-9, r.samples.at(-1).time);
  const W = 600;
  const left = 70;
  const rowH = 12;
  const H = clients.length * rowH + 24;
  const marks = r.samples
    .filter((s) => row.has(s.client))
    .map((s) => {
      const x = left + ((s.time - t0) / (t1 - t0)) * (W - left - 10);
      return `<rect x="${x.toFixed(1)}" y="${row.get(s.client) * rowH + 2}" width="4" height="${rowH - 3}" fill="${endpointColour(s.endpoint)}"><title>t=${s.time.toFixed(1)}s client ${s.client} → ${esc(s.endpoint === null ? "refused" : r.endpoints[s.endpoint].endpoint)}</title></rect>`;
    });
  const labels = clients.map((c, i) => `<text class="axis" x="${left - 6}" y="${i * rowH + 11}" text-anchor="end">client ${c}</text>`);
  const axis = `<text class="axis" x="${left}" y="${H - 6}">${t0.toFixed(0)} s</text><text class="axis" x="${W - 10}" y="${H - 6}" text-anchor="end">${t1.toFixed(0)} s</text>`;
  const legend = r.endpoints
    .map((e, i) => `<span class="legend"><span class="swatch" style="background:${endpointColour(i)}"></span>${esc(e.endpoint)}</span>`)
    .join(" ");
  const hidden = new Set(r.samples.map((s) => s.client)).size - clients.length;
  return `<svg class="timeline" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="Timeline: which endpoint each client's connections reached">${labels.join("")}${marks.join("")}${axis}</svg>
    <p class="small">${legend}${hidden > 0 ? ` <span class="muted">(${hidden} more clients not drawn)</span>` : ""}</p>`;
}
