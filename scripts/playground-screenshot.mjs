#!/usr/bin/env node
/**
 * docs/images/playground.png: the playground mid-training, as the README and docs/playground.md show it.
 * Builds nothing: run `npm run playground` first (`npm run playground:screenshot` does both). It serves
 * build/playground with scripts/static-server.mjs (COOP/COEP, CSP script-src 'self' 'wasm-unsafe-eval'),
 * drives Debian's chromium with puppeteer-core (CHROMIUM_PATH or /usr/bin/chromium), trains SimCLR with
 * batch 32 on 2,000 digits, and takes the picture after 400 steps, while it still trains.
 *
 *   node scripts/playground-screenshot.mjs [OUT.png]
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";
import { startStaticServer } from "./static-server.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = resolve(process.argv[2] ?? join(root, "docs", "images", "playground.png"));
const folder = join(root, "build", "playground");
if (!existsSync(join(folder, "index.html"))) {
  console.error(`playground-screenshot: ${folder} is not built (npm run playground)`);
  process.exit(1);
}
const executablePath = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find((path) =>
  path && existsSync(path)
);
if (executablePath === undefined) {
  console.error("playground-screenshot: no chromium (set CHROMIUM_PATH, or apt-get install -y chromium)");
  process.exit(1);
}
const server = await startStaticServer({ root: folder, port: 0, csp: "script-src 'self' 'wasm-unsafe-eval'" });
const browser = await puppeteer.launch({
  executablePath,
  headless: true,
  userDataDir: mkdtempSync(join(tmpdir(), "contrastive-chromium-")),
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run"],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 1250 });
  await page.goto(server.url, { waitUntil: "load" });
  await page.waitForFunction(() => document.body.dataset.status === "idle", { timeout: 120_000 });
  for (const [id, value] of [["batchSize", "32"], ["trainLimit", "2000"], ["epochs", "10"]]) {
    await page.$eval(`#${id}`, (input, text) => (input.value = text), value);
  }
  await page.click("#start");
  await page.waitForFunction(() => window.playground.losses.length >= 400 && window.playground.drawn.pca >= 3, { timeout: 600_000 });
  await new Promise((done) => setTimeout(done, 500)); // the loss plot's next redraw
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await server.close();
}
