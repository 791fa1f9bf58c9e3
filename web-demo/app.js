// The playground: an editor, the problems found, and the views of views.js.
//
// Every edit (debounced) reloads the cluster in the WebAssembly module and re-renders the
// active view only; other views render when their tab is picked. Timings of the last update
// are kept in `window.playground.timings` (the browser test reads them).
import init, { capabilities, loadCluster, names, version } from "./pkg/svccore_wasm.js";
import { VIEWS, esc, isAvailable, supported, unavailableView } from "./views.js";
import { generateCluster } from "./generate.js";
import { locatePath } from "./locate.js";

const DEBOUNCE_MS = 150;
// The longest text the page hands to the WebAssembly module, in UTF-8 bytes. Loading runs on
// the page's own thread and holds several times the text in memory, so a bigger paste would
// freeze or kill the tab; the page refuses it instead (the svccore command has no such limit).
// 10,000 Services with 10 endpoints each are about 13 MB of JSON.
const MAX_INPUT_BYTES = 32 * 1024 * 1024;
const $ = (id) => document.getElementById(id);
const el = {
  build: $("build-info"),
  example: $("example"),
  editor: $("editor"),
  status: $("status"),
  issues: $("issues"),
  tabs: $("tabs"),
  panel: $("panel"),
  node: $("node"),
  family: $("family"),
  format: $("format"),
  filter: $("filter"),
  filterField: $("filter-field"),
  nodeField: $("node-field"),
  familyField: $("family-field"),
  formatField: $("format-field"),
  scheduler: $("scheduler"),
  schedulerField: $("scheduler-field"),
  packetForm: $("packet-form"),
  pkTarget: $("pk-target"),
  pkFrom: $("pk-from"),
  pkSrc: $("pk-src"),
  pkDst: $("pk-dst"),
  pkProto: $("pk-proto"),
  pkMode: $("pk-mode"),
  simForm: $("sim-form"),
  simService: $("sim-service"),
  simScheduler: $("sim-scheduler"),
  simFrom: $("sim-from"),
  simClients: $("sim-clients"),
  simConnections: $("sim-connections"),
  simDuration: $("sim-duration"),
  simAffinity: $("sim-affinity"),
  simSeed: $("sim-seed"),
};

const state = {
  caps: [],
  cluster: null, // the wasm Cluster handle of the current text, or null
  loadError: null, // the SvcCoreError of the current text, or null
  fileName: "cluster.yaml",
  view: "services",
  node: "",
  nodes: [],
  family: "IPv4",
  format: {}, // view id -> chosen format
  filter: "",
  showAll: {}, // view id -> true once "Show all" was clicked
  timings: null,
  scheduler: "", // IPVS scheduler of the ipvsadm views and ipvs traces ("" = kube-proxy's)
  // The packet of the chain graph and the tracer. `target` is a service address key (see
  // packetTargets), "" for a custom destination, null for the first service address.
  packet: { target: null, src: "", dst: "", proto: "TCP", from: "pod", mode: "iptables" },
  // The simulation form; null/"" fields take the core's defaults.
  sim: { service: null, scheduler: "iptables", from: "pod", clients: 20, connections: 2000, duration: 600, affinityTimeout: "", seed: 1 },
  portsCache: null, // {cluster, family, ports}: the service ports the forms list
};

// ---- Setup ----------------------------------------------------------------------------------

/** The scheduler pickers offer the core's lists (`names()`), not a copy of them. */
function fillSchedulers(n) {
  const opt = (value, label) => `<option value="${esc(value)}">${esc(label)}</option>`;
  el.scheduler.innerHTML =
    opt("", "kube-proxy's (configuration, else rr)") + n.ipvsSchedulers.map((s) => opt(s, s)).join("");
  const label = (a) =>
    a === "iptables"
      ? "iptables (random cascade)"
      : a === "nftables"
        ? "nftables (numgen random)"
        : n.ipvsSchedulers.includes(a)
          ? `ipvs ${a}`
          : a;
  el.simScheduler.innerHTML = n.algorithms.map((a) => opt(a, label(a))).join("");
}

async function main() {
  await init();
  state.caps = capabilities();
  fillSchedulers(names());
  el.build.textContent = `svccore ${version()} (WebAssembly): ${state.caps.join(", ")}`;
  const hash = new URLSearchParams(location.hash.slice(1));
  state.view = VIEWS.some((v) => v.id === hash.get("view")) ? hash.get("view") : "services";
  state.node = hash.get("node") ?? "";
  buildTabs();
  wireControls();
  await buildExamplePicker(hash.get("example"));
}

function buildTabs() {
  el.tabs.innerHTML = "";
  for (const v of VIEWS) {
    const b = document.createElement("button");
    b.type = "button";
    b.setAttribute("role", "tab");
    b.id = `tab-${v.id}`;
    b.dataset.view = v.id;
    b.setAttribute("aria-controls", "panel");
    const ok = isAvailable(v, state.caps);
    b.className = ok ? "tab" : "tab unavailable-tab";
    b.innerHTML = `${esc(v.label)}${ok ? "" : ` <span class="na" aria-hidden="true">n/a</span><span class="sr-only">(not available in this build)</span>`}`;
    b.addEventListener("click", () => selectView(v.id));
    el.tabs.append(b);
  }
  // Arrow keys move between tabs (WAI-ARIA tabs pattern, automatic activation).
  el.tabs.addEventListener("keydown", (e) => {
    const ids = VIEWS.map((v) => v.id);
    const i = ids.indexOf(state.view);
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: ids.length - 1 }[e.key];
    if (next === undefined) return;
    e.preventDefault();
    selectView(ids[(next + ids.length) % ids.length]);
    $(`tab-${state.view}`).focus();
  });
}

function wireControls() {
  let timer = 0;
  // A paste or drop over the size limit is refused before it reaches the text area: laying out
  // tens of megabytes of text in it would hang the tab before any of our code runs.
  el.editor.addEventListener("paste", (e) => refuseOversize(e, e.clipboardData));
  el.editor.addEventListener("drop", (e) => refuseOversize(e, e.dataTransfer));
  el.editor.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(updateSoon, DEBOUNCE_MS);
  });
  el.example.addEventListener("change", () => loadExample(el.example.value));
  el.node.addEventListener("change", () => selectNode(el.node.value));
  el.family.addEventListener("change", () => {
    state.family = el.family.value;
    updateSoon();
  });
  el.format.addEventListener("change", () => {
    state.format[state.view] = el.format.value;
    renderSoon();
  });
  let filterTimer = 0;
  el.filter.addEventListener("input", () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => {
      state.filter = el.filter.value;
      renderSoon();
    }, DEBOUNCE_MS);
  });
  el.scheduler.addEventListener("change", () => {
    state.scheduler = el.scheduler.value;
    renderSoon();
  });
  wirePacketForm();
  wireSimForm();
  el.panel.addEventListener("click", (e) => {
    // Node names in the endpoints matrix pick that node.
    const b = e.target.closest("[data-node]");
    if (b) selectNode(b.dataset.node);
    if (e.target.closest("[data-show-all]")) {
      state.showAll[state.view] = true;
      renderSoon();
    }
  });
  // A parse error's "line L column C" moves the caret there.
  el.issues.addEventListener("click", (e) => {
    const b = e.target.closest("[data-line]");
    if (b) goToLine(Number(b.dataset.line), Number(b.dataset.column || 1));
  });
}

/** Calls `fn` DEBOUNCE_MS after the last call. */
function debounced(fn) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), DEBOUNCE_MS);
  };
}

function wirePacketForm() {
  el.pkTarget.addEventListener("change", () => {
    const key = el.pkTarget.value;
    state.packet.target = key;
    // A node port, external or load-balancer address is reached from outside; a cluster IP from a pod.
    const kind = key.split("|")[2] ?? "";
    if (kind && kind !== "cluster") state.packet.from = "external";
    else if (kind === "cluster" && state.packet.from === "external") state.packet.from = "pod";
    renderSoon();
  });
  const text = debounced(() => renderSoon());
  el.pkDst.addEventListener("input", () => {
    state.packet.dst = el.pkDst.value;
    state.packet.target = "";
    el.pkTarget.value = "";
    text();
  });
  el.pkSrc.addEventListener("input", () => {
    state.packet.src = el.pkSrc.value;
    text();
  });
  for (const [field, key] of [
    [el.pkFrom, "from"],
    [el.pkProto, "proto"],
    [el.pkMode, "mode"],
  ]) {
    field.addEventListener("change", () => {
      state.packet[key] = field.value;
      if (key === "proto") {
        state.packet.target = "";
        el.pkTarget.value = "";
      }
      renderSoon();
    });
  }
}

function wireSimForm() {
  const text = debounced(() => renderSoon());
  const fields = [
    [el.simService, "service", "change"],
    [el.simScheduler, "scheduler", "change"],
    [el.simFrom, "from", "change"],
    [el.simClients, "clients", "input"],
    [el.simConnections, "connections", "input"],
    [el.simDuration, "duration", "input"],
    [el.simAffinity, "affinityTimeout", "input"],
    [el.simSeed, "seed", "input"],
  ];
  for (const [field, key, event] of fields) {
    field.addEventListener(event, () => {
      state.sim[key] = field.value;
      if (event === "change") renderSoon();
      else text();
    });
  }
}

const SYNTHETIC = [
  { file: "generated-100.json", title: "generated: 100 services", n: 100 },
  { file: "generated-1000.json", title: "generated: 1,000 services", n: 1000 },
  { file: "generated-10000.json", title: "generated: 10,000 services", n: 10000 },
];

async function buildExamplePicker(wanted) {
  let index = [];
  try {
    const r = await fetch("pkg/examples/index.json");
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    index = await r.json();
  } catch (e) {
    setStatus(`The examples are missing (run \`make wasm\`): ${e.message}`, "error");
  }
  const groups = { examples: "Examples", invalid: "Invalid manifests", synthetic: "Synthetic" };
  const all = [...index, ...SYNTHETIC.map((s) => ({ ...s, group: "synthetic" }))];
  el.example.innerHTML = Object.entries(groups)
    .map(([g, label]) => {
      const opts = all.filter((x) => x.group === g).map((x) => `<option value="${esc(x.file)}">${esc(x.title)}</option>`);
      return opts.length ? `<optgroup label="${esc(label)}">${opts.join("")}</optgroup>` : "";
    })
    .join("");
  const first = all.find((x) => x.file === wanted) ?? all[0];
  if (first) await loadExample(first.file);
}

async function loadExample(file) {
  el.example.value = file;
  const synthetic = SYNTHETIC.find((s) => s.file === file);
  let text;
  if (synthetic) {
    text = generateCluster(synthetic.n);
  } else {
    const r = await fetch(`pkg/examples/${encodeURIComponent(file)}`);
    text = r.ok ? await r.text() : `# cannot fetch ${file}: HTTP ${r.status}\n`;
  }
  state.fileName = file;
  // "Show all" was asked for the previous example's size, not this one's.
  state.showAll = {};
  el.editor.value = text;
  saveHash({ example: file });
  await updateSoon();
}

// ---- Update and render ----------------------------------------------------------------------

/** From this size of input on, a re-render takes long enough (about a second at 10,000
 * services) that the page first says what it is doing. */
const BUSY_BYTES = 1 << 20;

/**
 * Runs `work` at once for a small input. For a large one, first puts `message` in the status
 * line and marks the panel busy, and runs `work` once the browser has painted that: nothing is
 * painted while the module works, so the message must be on screen before the work starts.
 * The status `work` sets stays; otherwise the previous one comes back.
 */
async function whenPainted(message, work) {
  if (el.editor.value.length < BUSY_BYTES) return work();
  const before = [el.status.textContent, el.status.className];
  setStatus(message, "busy");
  el.panel.setAttribute("aria-busy", "true");
  await new Promise((ok) => requestAnimationFrame(() => setTimeout(ok, 0)));
  try {
    return work();
  } finally {
    el.panel.removeAttribute("aria-busy");
    if (el.status.classList.contains("busy")) [el.status.textContent, el.status.className] = before;
  }
}

const viewLabel = () => VIEWS.find((v) => v.id === state.view)?.label ?? state.view;

/** `update()`, with a progress message first when the input is large. */
function updateSoon() {
  const mb = (el.editor.value.length / 1e6).toFixed(1);
  return whenPainted(`Loading ${mb} MB of manifests and rendering the ${viewLabel()} view…`, update);
}

/** `renderView()`, with a progress message first when the input is large. */
function renderSoon() {
  const n = state.cluster?.serviceCount;
  const of = n === undefined ? "" : ` of ${n.toLocaleString("en")} Services`;
  return whenPainted(`Rendering the ${viewLabel()} view${of}…`, renderView);
}

/** Reloads the editor's text and re-renders the active view. Returns the timings (ms). */
function update() {
  const t0 = performance.now();
  state.cluster?.free();
  state.cluster = null;
  state.loadError = null;
  let issues = [];
  let warnings = [];
  try {
    const bytes = oversize(el.editor.value);
    if (bytes !== null) {
      throw {
        kind: "too large",
        path: "",
        message: tooLarge(bytes),
      };
    }
    state.cluster = loadCluster(el.editor.value, state.fileName);
  } catch (e) {
    state.loadError = e;
    issues = e.issues?.length ? e.issues : [{ file: null, path: e.path ?? "", message: e.message }];
  }
  const t1 = performance.now();
  if (state.cluster) {
    issues = state.cluster.validate();
    warnings = state.cluster.warnings(state.family);
    state.nodes = state.cluster.nodes();
  }
  const t2 = performance.now();
  refreshNodePicker();
  showIssues(issues, warnings);
  renderView();
  const t3 = performance.now();
  state.timings = { load: t1 - t0, validate: t2 - t1, view: t3 - t2, total: t3 - t0, view_id: state.view };
  document.dispatchEvent(new CustomEvent("svccore:updated", { detail: state.timings }));
  return state.timings;
}

/** Stops a paste or drop whose text is over MAX_INPUT_BYTES, and says why. */
function refuseOversize(event, data) {
  const bytes = oversize(data?.getData("text/plain") ?? "");
  if (bytes === null) return;
  event.preventDefault();
  setStatus(`Not pasted: ${tooLarge(bytes)}. The text above is unchanged.`, "error");
}

function tooLarge(bytes) {
  return `the text is ${bytes.exact ? "" : "at least "}${mib(bytes.n)} MiB; the playground loads at most ${mib(MAX_INPUT_BYTES)} MiB (the svccore command reads any size)`;
}

/** The text's size in UTF-8 bytes when it is over MAX_INPUT_BYTES, else null. */
function oversize(text) {
  // UTF-16 length ≤ UTF-8 bytes ≤ 3 × UTF-16 length: encode only when the bounds don't decide.
  if (text.length * 3 <= MAX_INPUT_BYTES) return null;
  if (text.length > MAX_INPUT_BYTES) return { n: text.length, exact: false };
  const n = new TextEncoder().encode(text).length;
  return n > MAX_INPUT_BYTES ? { n, exact: true } : null;
}

const mib = (n) => (n / (1024 * 1024)).toFixed(1).replace(/\.0$/, "");

function refreshNodePicker() {
  const names = state.nodes.map((n) => n.name);
  if (!names.includes(state.node)) {
    state.node = names[0] ?? "";
  }
  el.node.innerHTML =
    state.nodes.map((n) => `<option value="${esc(n.name)}">${esc(n.name)}${n.zone ? ` (${esc(n.zone)})` : ""}</option>`).join("") ||
    `<option value="">(no Node objects)</option>`;
  el.node.value = state.node;
}

function selectNode(name) {
  state.node = name;
  el.node.value = name;
  saveHash({ node: name });
  return renderSoon();
}

function selectView(id) {
  state.view = id;
  saveHash({ view: id });
  return renderSoon();
}

function showIssues(errors, warnings) {
  const text = el.editor.value;
  let located = 0;
  const item = (i, cls) => {
    // A parse error says "line L column C"; other paths are looked up in the YAML text
    // (for the first issues only: a long list would cost a scan each).
    const m = /^line (\d+) column (\d+)$/.exec(i.path);
    const line = m ? Number(m[1]) : i.path && located++ < 50 ? locatePath(text, i.path) : null;
    const path = !i.path
      ? ""
      : line
        ? `<button type="button" class="path linkish" data-line="${line}" data-column="${m ? m[2] : 1}" title="Go to line ${line}">${esc(i.path)}</button>`
        : `<code class="path">${esc(i.path)}</code>`;
    return `<li class="issue ${cls}" data-path="${esc(i.path)}"><span class="sev">${cls}</span> ${path} <span class="msg">${esc(i.message)}</span></li>`;
  };
  el.issues.innerHTML = errors.map((i) => item(i, "error")).join("") + warnings.map((i) => item(i, "warning")).join("");
  el.editor.setAttribute("aria-invalid", String(errors.length > 0));
  if (state.loadError) {
    setStatus(`Does not load (${state.loadError.kind}): ${errors.length} problem${errors.length === 1 ? "" : "s"}.`, "error");
  } else if (errors.length) {
    setStatus(`Loaded, but the API server would refuse it: ${errors.length} error${errors.length === 1 ? "" : "s"}.`, "error");
  } else {
    const n = state.cluster.serviceCount;
    setStatus(`Valid: ${n} Service${n === 1 ? "" : "s"}, ${state.nodes.length} Node${state.nodes.length === 1 ? "" : "s"}${warnings.length ? `, ${warnings.length} warning${warnings.length === 1 ? "" : "s"}` : ""}.`, "ok");
  }
}

function setStatus(text, cls) {
  el.status.textContent = text;
  el.status.className = `status ${cls}`;
}

let renders = 0; // how many times the panel was rendered (the browser test waits on it)

function renderView() {
  renders++;
  const view = VIEWS.find((v) => v.id === state.view);
  for (const b of el.tabs.children) {
    const on = b.dataset.view === view.id;
    b.setAttribute("aria-selected", String(on));
    b.tabIndex = on ? 0 : -1;
  }
  el.panel.setAttribute("aria-labelledby", `tab-${view.id}`);
  el.panel.dataset.view = view.id;
  const ok = isAvailable(view, state.caps);
  const opts = ok ? view.options : [];
  el.nodeField.hidden = !opts.includes("node");
  el.familyField.hidden = !opts.includes("family");
  el.formatField.hidden = !opts.includes("format");
  el.filterField.hidden = !opts.includes("filter");
  el.packetForm.hidden = !opts.includes("packet");
  el.simForm.hidden = !opts.includes("sim");
  el.schedulerField.hidden = !(opts.includes("scheduler") && (!opts.includes("packet") || state.packet.mode === "ipvs"));
  if (!ok) {
    el.panel.innerHTML = unavailableView(view, state.caps);
    return;
  }
  let format = null;
  if (view.formats) {
    const have = supported(view, state.caps);
    const formats = view.formats.filter(([f]) => have.includes(f));
    format = have.includes(state.format[view.id]) ? state.format[view.id] : formats[0][0];
    el.format.innerHTML = formats.map(([f, label]) => `<option value="${esc(f)}">${esc(label)}</option>`).join("");
    el.format.value = format;
  }
  if (!state.cluster) {
    el.panel.innerHTML = errorBox("The manifests do not load", state.loadError);
    return;
  }
  try {
    const out = view.render({
      cluster: state.cluster,
      caps: state.caps,
      node: state.node,
      nodes: state.nodes,
      family: state.family,
      format,
      filter: state.filter,
      showAll: Boolean(state.showAll[view.id]),
      scheduler: state.scheduler,
      packet: opts.includes("packet") ? resolvePacket() : null,
      sim: opts.includes("sim") ? resolveSim() : null,
    });
    if (typeof out === "string") el.panel.innerHTML = out;
    else el.panel.replaceChildren(out);
  } catch (e) {
    if (e?.name !== "SvcCoreError") console.error(e);
    el.panel.innerHTML = errorBox(`${view.label}: cannot render`, e);
  }
}

// ---- The packet and simulation forms ------------------------------------------------------

const hostPort = (ip, port) => (ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`);

/** The service ports of the current cluster and family (cached per cluster handle). */
function servicePorts() {
  const c = state.portsCache;
  if (!c || c.cluster !== state.cluster || c.family !== state.family) {
    let ports = [];
    try {
      ports = state.cluster.services(state.family, { endpoints: false }).ports;
    } catch {
      // The view itself reports why (kube-proxy would refuse the objects).
    }
    state.portsCache = { cluster: state.cluster, family: state.family, ports };
  }
  return state.portsCache.ports;
}

/** A node's address of the family (InternalIP first), or null. */
function nodeAddress(name, v6) {
  const n = state.nodes.find((x) => x.name === name);
  const ips = (n?.addresses ?? []).filter((a) => a.address.includes(":") === v6);
  return (ips.find((a) => a.type === "InternalIP") ?? ips[0])?.address ?? null;
}

/** Every address of every service port, as packet targets. */
function packetTargets() {
  const out = [];
  const v6 = state.family === "IPv6";
  const nodeIP = nodeAddress(state.node, v6);
  for (const p of servicePorts()) {
    const spn = p.servicePortName;
    const base = `${spn}|${p.protocol}`;
    const add = (kind, what, ip, port) =>
      out.push({ key: `${base}|${kind}`, label: `${spn} (${p.protocol}): ${what} ${hostPort(ip, port)}`, dst: hostPort(ip, port), proto: p.protocol });
    add("cluster", "cluster IP", p.clusterIP, p.port);
    if (p.nodePort && nodeIP) add("nodeport", `node port on ${state.node}`, nodeIP, p.nodePort);
    p.externalIPs.forEach((ip, i) => add(`external${i}`, "external IP", ip, p.port));
    p.loadBalancerIPs.forEach((ip, i) => add(`lb${i}`, "load balancer", ip, p.port));
  }
  return out;
}

/** Replaces a select's options when they changed (keeps focus and scroll otherwise). */
function syncSelect(select, items) {
  const sig = items.map((i) => `${i.key}\u0001${i.label}`).join("\u0002");
  if (select._sig === sig) return;
  select._sig = sig;
  select.innerHTML = items.map((i) => `<option value="${esc(i.key)}">${esc(i.label)}</option>`).join("");
}

/** A source address for the packet's origin when the form leaves it empty. */
function autoSource(from, v6) {
  if (from === "external") return v6 ? "2001:db8::10" : "203.0.113.10";
  if (from === "node") return nodeAddress(state.node, v6) ?? (v6 ? "fd00::1" : "192.168.0.1");
  if (from === "other-node") {
    const other = state.nodes.find((n) => n.name !== state.node && nodeAddress(n.name, v6));
    return other ? nodeAddress(other.name, v6) : v6 ? "fd00::250" : "192.168.0.250";
  }
  // A pod on the node: an address of its pod CIDR, else of the usual default.
  const n = state.nodes.find((x) => x.name === state.node);
  const cidr = (n?.podCIDRs ?? []).find((c) => c.includes(":") === v6);
  if (cidr && !v6) {
    const [ip, len] = cidr.split("/");
    const o = ip.split(".").map(Number);
    if (o.length === 4 && Number(len) <= 24) return `${o[0]}.${o[1]}.${o[2]}.200`;
  }
  if (cidr && v6) return `${cidr.split("/")[0].replace(/::$/, "")}::c8`;
  return v6 ? "fd00:10:244::c8" : "10.244.0.200";
}

/** Refreshes the packet form from the cluster and returns the packet to trace. */
function resolvePacket() {
  const targets = packetTargets();
  syncSelect(el.pkTarget, [...targets, { key: "", label: "custom destination" }]);
  const p = state.packet;
  if (p.target !== "") {
    const t = targets.find((x) => x.key === p.target) ?? targets[0];
    if (t) {
      p.target = t.key;
      p.dst = t.dst;
      p.proto = t.proto;
    } else {
      p.target = "";
    }
  }
  el.pkTarget.value = p.target ?? "";
  if (document.activeElement !== el.pkDst) el.pkDst.value = p.dst;
  el.pkProto.value = p.proto;
  el.pkFrom.value = p.from;
  el.pkMode.value = p.mode;
  const auto = autoSource(p.from, p.dst.includes("[") || (p.dst.match(/:/g)?.length ?? 0) > 1);
  el.pkSrc.placeholder = auto;
  return { src: p.src.trim() || auto, dst: p.dst.trim(), proto: p.proto, from: p.from, mode: p.mode };
}

const numberOr = (v, fallback) => (v === "" || v === null || v === undefined || Number.isNaN(Number(v)) ? fallback : Number(v));

/** Refreshes the simulation form from the cluster and returns the options. */
function resolveSim() {
  const ports = servicePorts();
  syncSelect(
    el.simService,
    ports.map((p) => ({
      key: p.servicePortName,
      label: `${p.servicePortName} (${p.type}, ${p.endpointCount} endpoint${p.endpointCount === 1 ? "" : "s"}${p.affinitySeconds !== null ? `, ClientIP ${p.affinitySeconds}s` : ""})`,
    })),
  );
  const sim = state.sim;
  if (!ports.some((p) => p.servicePortName === sim.service)) sim.service = ports[0]?.servicePortName ?? "";
  el.simService.value = sim.service;
  el.simScheduler.value = sim.scheduler;
  el.simFrom.value = sim.from;
  const connections = numberOr(sim.connections, 10000);
  return {
    service: sim.service,
    scheduler: sim.scheduler,
    from: sim.from,
    clients: numberOr(sim.clients, undefined),
    connections: numberOr(sim.connections, undefined),
    duration: numberOr(sim.duration, undefined),
    seed: numberOr(sim.seed, undefined),
    affinityTimeout: sim.affinityTimeout === "" ? "" : numberOr(sim.affinityTimeout, ""),
    samples: Math.min(Math.max(0, Math.floor(connections)) || 0, 600),
  };
}

function errorBox(title, e) {
  const issues = e?.issues?.length
    ? `<ul class="plain">${e.issues
        .map((i) => `<li>${i.path ? `<code class="path">${esc(i.path)}</code> ` : ""}${esc(i.message)}</li>`)
        .join("")}</ul>`
    : `<p>${esc(e?.message ?? String(e))}</p>`;
  return `<div class="error-box" role="alert" data-kind="${esc(e?.kind ?? "")}"><h3>${esc(title)}${e?.kind ? ` (${esc(e.kind)})` : ""}</h3>${issues}</div>`;
}

function goToLine(line, column) {
  const lines = el.editor.value.split("\n");
  let pos = 0;
  for (let i = 0; i < Math.min(line - 1, lines.length); i++) pos += lines[i].length + 1;
  const lineEnd = pos + (lines[line - 1]?.length ?? 0);
  pos += Math.max(0, column - 1);
  el.editor.focus();
  // Select the rest of the line: the textarea's way of highlighting it.
  el.editor.setSelectionRange(Math.min(pos, lineEnd), lineEnd);
  // Scroll the line into view (about one line-height per line).
  const lh = parseFloat(getComputedStyle(el.editor).lineHeight) || 18;
  el.editor.scrollTop = Math.max(0, (line - 5) * lh);
}

function saveHash(change) {
  const h = new URLSearchParams(location.hash.slice(1));
  for (const [k, v] of Object.entries(change)) h.set(k, v);
  history.replaceState(null, "", `#${h}`);
}

// For the browser test and for measuring by hand in the console.
window.playground = {
  update,
  loadExample,
  selectView,
  selectNode,
  get timings() {
    return state.timings;
  },
  get capabilities() {
    return state.caps;
  },
  get renders() {
    return renders;
  },
  ready: main().catch((e) => {
    console.error(e);
    el.build.textContent = `The WebAssembly module failed to load: ${e.message}. Build it with \`make wasm\`.`;
    el.build.className = "build error";
  }),
};
