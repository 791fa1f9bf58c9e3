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
    options: ["node", "family", "format"],
    render: textView,
  },
  {
    id: "ipvs",
    label: "ipvsadm",
    needs: ["ipvsadm-ln", "ipvsadm-save", "ipset-save"],
    formats: [
      ["ipvsadm-ln", "ipvsadm -Ln"],
      ["ipvsadm-save", "ipvsadm -S -n"],
      ["ipset-save", "ipset save"],
    ],
    options: ["node", "family", "format"],
    render: textView,
  },
  // These three need records of their own (a graph, a trace, a distribution): their render
  // function is written together with the binding method that returns them.
  { id: "graph", label: "Chain graph", needs: ["chain-graph"], options: ["node", "family"], render: null },
  { id: "trace", label: "Packet tracer", needs: ["trace"], options: ["node", "family"], render: null },
  { id: "simulate", label: "Simulation", needs: ["simulate"], options: [], render: null },
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

// ---- Text views (iptables, ipvsadm, ipset) ---------------------------------------------------

function textView({ cluster, node, family, format }) {
  const text = cluster.render(format, { node, family });
  return `<pre class="text-output" data-format="${esc(format)}" aria-label="${esc(format)} for node ${esc(node)}">${esc(text)}</pre>`;
}
