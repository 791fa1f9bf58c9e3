// Copies the repository's example clusters (and a few bad manifests) next to the built module
// and writes index.json, the playground's example picker. Run by `make wasm`:
//   node web-demo/bundle-examples.mjs examples tests/bad-manifests web-demo/pkg/examples
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [examplesDir, badDir, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error("usage: bundle-examples.mjs EXAMPLES_DIR BAD_MANIFESTS_DIR OUT_DIR");
  process.exit(2);
}

// Short picker labels for the known examples; any other file in examples/ is listed too,
// titled by its first comment line (or its name).
const TITLES = {
  "nginx-study.yaml": "nginx: ClusterIP, headless, NodePort, LoadBalancer (ETP Local), ExternalName",
  "nginx-affinity.yaml": "nginx: ClientIP session affinity",
  "redis.yaml": "redis: ClusterIP with legacy Endpoints",
  "kube-system.json": "kube-system: kubernetes, kube-dns, metrics-server, calico",
  "super-front.yaml": "super-front: ClusterIP with an external IP",
};
const BAD = {
  "port-out-of-range.yaml": "invalid: port 70000",
  "bad-cluster-ip.yaml": "invalid: cluster IP",
  "topology-keys-with-etp-local.yaml": "invalid: topologyKeys with ETP Local",
  "truncated-yaml.yaml": "invalid: truncated YAML",
  "no-kind.yaml": "invalid: object without kind",
};

function firstComment(text) {
  const m = /^#\s*(?:[\w.-]+:\s*)?(.+)$/m.exec(text);
  return m ? m[1].trim() : null;
}

mkdirSync(outDir, { recursive: true });
const index = [];
const files = readdirSync(examplesDir).filter((f) => /\.(ya?ml|json)$/.test(f));
const known = Object.keys(TITLES);
files.sort((a, b) => (known.indexOf(a) + 1 || 99) - (known.indexOf(b) + 1 || 99) || a.localeCompare(b));
for (const f of files) {
  const text = readFileSync(join(examplesDir, f), "utf8");
  copyFileSync(join(examplesDir, f), join(outDir, f));
  index.push({ file: f, title: TITLES[f] ?? firstComment(text) ?? f, group: "examples" });
}
for (const [f, title] of Object.entries(BAD)) {
  try {
    copyFileSync(join(badDir, f), join(outDir, f));
    index.push({ file: f, title, group: "invalid" });
  } catch {
    // A renamed bad manifest only shortens the picker.
  }
}
writeFileSync(join(outDir, "index.json"), JSON.stringify(index, null, 1) + "\n");
console.log(`${index.length} examples -> ${outDir}`);
