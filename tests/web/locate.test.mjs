// The playground's path → line lookup (web-demo/locate.js), on the examples and bad manifests.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { locatePath, splitPath } from "../../web-demo/locate.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const read = (p) => readFileSync(join(root, p), "utf8");
const lineOf = (text, path) => text.split("\n")[locatePath(text, path) - 1];

test("splitPath reads document indices, keys and list indices", () => {
  assert.deepEqual(splitPath("[6].spec.ports[0].port"), [6, "spec", "ports", 0, "port"]);
  assert.deepEqual(splitPath("items[3].metadata.name"), ["items", 3, "metadata", "name"]);
});

test("finds fields in a multi-document YAML, through lists at their key's column", () => {
  const t = read("examples/nginx-study.yaml");
  assert.equal(lineOf(t, "[6].spec.ports[0].port"), "  - port: 80");
  assert.equal(lineOf(t, "[9].spec.loadBalancerSourceRanges[1]"), "  - 192.168.100.0/24");
  assert.equal(lineOf(t, "[9].status.loadBalancer.ingress[0].ip"), "    - ip: 10.101.135.10");
  assert.equal(lineOf(t, "[3].spec.containers[0].ports[0].name"), "      name: http");
  assert.equal(lineOf(t, "[10].spec.externalName"), "  externalName: www.baidu.com");
});

test("finds the field of every single-document bad manifest (its parent when the field is missing)", () => {
  const expected = JSON.parse(read("tests/bad-manifests/expected.json"));
  const unlocated = [];
  for (const [file, want] of Object.entries(expected)) {
    if (!/\.ya?ml$/.test(file) || !want.path || want.path.startsWith("line") || want.path.startsWith("[")) continue;
    const line = lineOf(read(`tests/bad-manifests/${file}`), want.path);
    const last = String(splitPath(want.path).filter((s) => typeof s === "string").pop());
    const ok = line !== undefined && (line.includes(last) || /^\s*-/.test(line) || /is required/.test(want.message));
    if (!ok) unlocated.push(`${file}: ${want.path} -> ${line}`);
  }
  assert.deepEqual(unlocated, []);
});

test("JSON text and unknown paths give null, never a wrong line", () => {
  assert.equal(locatePath('{"kind": "List"}', "items[0]"), null);
  assert.equal(locatePath("kind: Service\n", "spec.ports[0]"), null);
});
