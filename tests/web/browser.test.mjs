// The playground in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core,
// which never downloads a browser). Serves web-demo/ on a free localhost port, then checks:
// no console error on load; an edit updates every available view; a bad manifest shows its
// error with its path; the node picker changes the endpoints view (ETP Local); the re-render
// time of a 1,000-service cluster; and saves a screenshot of each view.
//
// Run by `make test-web` (which builds web-demo/pkg first). Fails, never skips, when Chromium
// cannot start.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os, { tmpdir } from "node:os";
import { dirname, extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const webRoot = process.env.SVCCORE_WEB_ROOT ?? join(root, "web-demo");
const shots = process.env.SVCCORE_SCREENSHOTS ?? join(root, "target/web-screenshots");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
// The playground's target for re-rendering a 1,000-service cluster after an edit, and the
// limit the test enforces: the target is reported (timings.json, target_met); the limit, 2.5x,
// guards against regressions without failing on a 2-core machine busy with a build.
const RENDER_TARGET_MS = 100;
const RENDER_LIMIT_MS = Number(process.env.SVCCORE_RENDER_LIMIT_MS ?? 250);
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
];

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".yaml": "text/yaml; charset=utf-8",
  ".png": "image/png",
  ".ts": "text/plain; charset=utf-8",
};

/** A static file server for web-demo/ on 127.0.0.1 and a free port. */
async function serve(dir) {
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://localhost");
    let path = normalize(join(dir, decodeURIComponent(url.pathname)));
    if (!path.startsWith(dir + sep) && path !== dir) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(path) && statSync(path).isDirectory()) path = join(path, "index.html");
    if (!existsSync(path)) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": MIME[extname(path)] ?? "application/octet-stream", "cache-control": "no-store" });
    res.end(readFileSync(path));
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { server, url: `http://127.0.0.1:${server.address().port}/` };
}

async function launch() {
  let chromium;
  try {
    ({ chromium } = await import("playwright-core"));
  } catch (e) {
    throw new Error(`playwright-core is not installed (run \`make test-web\`, which runs npm ci in tests/web): ${e.message}`);
  }
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium), as \`make test-web\` does`);
  }
  const profile = mkdtempSync(join(tmpdir(), "svccore-chromium-"));
  try {
    // A persistent context on a fresh directory: the profile (--user-data-dir) is ours and new.
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 860 },
      timeout: 60_000,
    });
    return { context, profile };
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw new Error(`Chromium (${CHROMIUM}) could not start: ${e.message.split("\n")[0]}`);
  }
}

test("the playground in headless Chromium", { timeout: 300_000 }, async (t) => {
  if (!existsSync(join(webRoot, "pkg/svccore_wasm_bg.wasm"))) {
    throw new Error(`${webRoot}/pkg is not built: run \`make wasm\` (or \`make test-web\`)`);
  }
  mkdirSync(shots, { recursive: true });
  const { server, url } = await serve(webRoot);
  const { context, profile } = await launch().catch((e) => {
    server.close();
    throw e;
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  const consoleErrors = [];
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => consoleErrors.push(`uncaught: ${e.message}`));
  page.on("requestfailed", (r) => consoleErrors.push(`request failed: ${r.url()}`));

  const panelText = () => page.locator("#panel").innerText();
  const pickView = async (id) => {
    await page.click(`#tab-${id}`);
    await page.waitForFunction((v) => document.getElementById("panel").dataset.view === v, id);
  };
  const setEditor = async (text) => {
    await page.fill("#editor", text); // fires input: the page's debounced update follows
    await page.evaluate(() => new Promise((ok) => document.addEventListener("svccore:updated", ok, { once: true })));
  };
  const views = async () =>
    page.evaluate(() =>
      [...document.querySelectorAll("#tabs [role=tab]")].map((b) => ({
        id: b.dataset.view,
        available: !b.classList.contains("unavailable-tab"),
      })),
    );

  try {
    await t.test("the page loads with no console error", async () => {
      await page.goto(`${url}#example=nginx-study.yaml`);
      await page.evaluate(() => window.playground.ready);
      await page.waitForSelector("#panel table.services tbody tr");
      assert.match(await page.locator("#build-info").innerText(), /svccore \d+\.\d+\.\d+/);
      assert.match(await page.locator("#status").innerText(), /^Valid: 5 Services, 3 Nodes/);
      assert.ok((await page.locator("#example option").count()) >= 8, "examples in the picker");
      const tabs = await views();
      assert.deepEqual(
        tabs.map((v) => v.id),
        ["services", "endpoints", "iptables", "ipvs", "graph", "trace", "simulate"],
      );
      assert.deepEqual(consoleErrors, []);
    });

    await t.test("an edit updates every available view; the others say they are not in this build", async () => {
      const before = {};
      for (const v of await views()) {
        await pickView(v.id);
        before[v.id] = await panelText();
      }
      const text = await page.inputValue("#editor");
      await setEditor(text.replace("name: service-clusterip", "name: service-edited").replace("10.97.97.97", "10.97.97.98"));
      for (const v of await views()) {
        await pickView(v.id);
        const after = await panelText();
        if (v.available) {
          assert.notEqual(after, before[v.id], `${v.id} changed`);
          assert.ok(after.includes("service-edited") || after.includes("10.97.97.98"), `${v.id} shows the edit`);
        } else {
          assert.match(after, /not available in this build/, v.id);
          assert.match(after, /capabilities\(\)/, v.id);
        }
        await page.screenshot({ path: join(shots, `${v.id}.png`) });
      }
      assert.deepEqual(consoleErrors, []);
    });

    await t.test("a bad manifest shows its error inline with its path", async () => {
      await pickView("services");
      const text = await page.inputValue("#editor");
      await setEditor(text.replace("  - port: 80\n    protocol: TCP\n    targetPort: 80", "  - port: 70000\n    protocol: TCP\n    targetPort: 80"));
      const issue = page.locator('#issues li.error[data-path$="spec.ports[0].port"]');
      await issue.first().waitFor();
      assert.match(await issue.first().innerText(), /spec\.ports\[0\]\.port.*must be between 1 and 65535, got 70000/);
      assert.match(await page.locator("#status").innerText(), /would refuse/);
      assert.equal(await page.getAttribute("#editor", "aria-invalid"), "true");
      // The view says kube-proxy would refuse it, with the same path.
      const box = page.locator("#panel .error-box");
      assert.match(await box.innerText(), /spec\.ports\[0\]\.port/);
      await page.screenshot({ path: join(shots, "error.png") });

      // The bundled bad manifest: a single document, so the path is exactly spec.ports[0].port.
      await page.selectOption("#example", "port-out-of-range.yaml");
      const exact = page.locator('#issues li.error[data-path="spec.ports[0].port"]');
      await exact.waitFor();
      // Clicking the path selects its line in the editor.
      await exact.locator("button[data-line]").click();
      const selected = await page.evaluate(() => {
        const e = document.getElementById("editor");
        return e.value.slice(e.selectionStart, e.selectionEnd);
      });
      assert.match(selected, /port: 70000/);
      // A syntax error names its line, and clicking it moves the caret there.
      await setEditor("apiVersion: v1\nkind: Service\nmetadata:\n  name: [oops\n");
      const parse = page.locator("#issues li.error button[data-line]");
      await parse.waitFor();
      assert.match(await page.locator("#status").innerText(), /Does not load \(parse\)/);
      await parse.click();
      assert.ok((await page.evaluate(() => document.getElementById("editor").selectionStart)) > 0);
      assert.deepEqual(consoleErrors, []);
    });

    await t.test("the node picker changes the endpoints view (LoadBalancer with ETP Local)", async () => {
      await page.selectOption("#example", "nginx-study.yaml");
      await page.waitForFunction(() => /^Valid/.test(document.getElementById("status").textContent));
      await pickView("endpoints");
      const lb = page.locator('#panel table.endpoints tr[data-spn="study/service-loadbalancer"]');
      const localCount = async (node) => {
        await page.selectOption("#node", node);
        await page.waitForFunction((n) => document.querySelector("#panel .summary strong")?.textContent === n, node);
        return Number(await lb.getAttribute("data-local-count"));
      };
      assert.equal(await localCount("node2"), 1);
      assert.match(await lb.innerText(), /node2/);
      assert.equal(await localCount("master"), 0);
      assert.match(await lb.innerText(), /none on this node/);
      assert.equal(await localCount("node1"), 2);
      // The matrix of where nodes differ links to each node.
      assert.match(await panelText(), /Where nodes differ/);
      await page.click('#panel button[data-node="node2"]');
      assert.equal(await page.inputValue("#node"), "node2");
      assert.equal(Number(await lb.getAttribute("data-local-count")), 1);
      await page.screenshot({ path: join(shots, "endpoints-node2.png") });
      assert.deepEqual(consoleErrors, []);
    });

    await t.test(`re-rendering a generated 1,000-service cluster (target ${RENDER_TARGET_MS} ms, limit ${RENDER_LIMIT_MS} ms)`, async () => {
      await page.selectOption("#example", "generated-1000.json");
      await page.waitForFunction(() => /^Valid: 1000 Services/.test(document.getElementById("status").textContent));
      const results = {};
      for (const v of await views()) {
        if (!v.available) continue;
        await pickView(v.id);
        // Each run: reload the text, validate, render the view (synchronous), then until the
        // next frame is painted. Median of 11 after 3 warm-up runs.
        const runs = await page.evaluate(async () => {
          const out = [];
          for (let i = 0; i < 14; i++) {
            const t0 = performance.now();
            const parts = window.playground.update();
            const sync = performance.now() - t0;
            await new Promise((ok) => requestAnimationFrame(() => setTimeout(ok, 0)));
            out.push({ ...parts, sync, painted: performance.now() - t0 });
          }
          return out.slice(3);
        });
        const median = (k) => {
          const s = runs.map((r) => r[k]).sort((a, b) => a - b);
          return Math.round(s[s.length >> 1] * 10) / 10;
        };
        results[v.id] = {
          load_ms: median("load"),
          validate_ms: median("validate"),
          view_ms: median("view"),
          rerender_ms: median("sync"),
          to_paint_ms: median("painted"),
        };
        await page.screenshot({ path: join(shots, `${v.id}-1000.png`) });
      }
      // The tables stop at a row limit; "Show all" lifts it; the filter narrows them.
      await pickView("services");
      assert.match(await page.locator("#panel .more").innerText(), /Showing \d+ of 1000 service ports/);
      await page.click("#panel [data-show-all]");
      assert.equal(await page.locator("#panel table.services tbody tr").count(), 1000);
      await page.fill("#filter", "svc-0999");
      await page.waitForFunction(() => document.querySelectorAll("#panel table.services tbody tr").length === 1);
      await page.fill("#filter", "");
      const report = {
        cluster: "web-demo/generate.js generateCluster(1000): 1,000 services, 3,000 endpoints, 3 nodes",
        target_ms: RENDER_TARGET_MS,
        target_met: Object.values(results).every((r) => r.rerender_ms <= RENDER_TARGET_MS),
        limit_ms: RENDER_LIMIT_MS,
        machine: { cpus: os.cpus().length, loadavg_1m: Math.round(os.loadavg()[0] * 100) / 100 },
        browser: await page.evaluate(() => navigator.userAgent),
        views: results,
      };
      writeFileSync(join(shots, "timings.json"), JSON.stringify(report, null, 2) + "\n");
      for (const [id, r] of Object.entries(results)) {
        const verdict = r.rerender_ms <= RENDER_TARGET_MS ? "within" : "OVER";
        console.log(`# ${id}: re-render ${r.rerender_ms} ms (${verdict} the ${RENDER_TARGET_MS} ms target; load ${r.load_ms}, validate ${r.validate_ms}, view ${r.view_ms}), painted after ${r.to_paint_ms} ms`);
        assert.ok(r.rerender_ms <= RENDER_LIMIT_MS, `${id}: re-render ${r.rerender_ms} ms > limit ${RENDER_LIMIT_MS} ms`);
      }
      assert.deepEqual(consoleErrors, []);
    });
  } finally {
    await context.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
