import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { readFileSync, existsSync, statSync } from "node:fs";
import { join, extname } from "node:path";
const dir = "/work/wt-wasm2/web-demo";
const MIME = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".wasm": "application/wasm" };
const server = createServer((req, res) => {
  let p = join(dir, decodeURIComponent(new URL(req.url, "http://x").pathname));
  if (existsSync(p) && statSync(p).isDirectory()) p = join(p, "index.html");
  if (!existsSync(p)) return res.writeHead(404).end();
  res.writeHead(200, { "content-type": MIME[extname(p)] ?? "application/octet-stream" }).end(readFileSync(p));
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const b = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--headless"] });
const page = await b.newPage({ viewport: { width: 1280, height: 900 } });
page.on("console", (m) => m.type() === "error" && console.log("console:", m.text()));
page.on("pageerror", (e) => console.log("pageerror:", e.message));
const ex = process.argv[2] ?? "nginx-study.yaml";
await page.goto(`http://127.0.0.1:${server.address().port}/#example=${ex}`);
await page.evaluate(() => window.playground.ready);
await page.waitForTimeout(500);
for (const v of (process.argv[3] ?? "iptables,ipvs,graph,trace,simulate").split(",")) {
  await page.click(`#tab-${v}`);
  await page.waitForTimeout(300);
  await page.screenshot({ path: `/tmp/wasm2/${v}.png`, fullPage: true });
  console.log(v, (await page.locator("#panel").innerText()).slice(0, 300).replace(/\n/g, " | "));
}
await b.close();
server.close();
