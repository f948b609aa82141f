/**
 * The harness of the real-browser specs (`npm run test:browser`): Debian's chromium driven headless by
 * puppeteer-core, and the static server of scripts/static-server.mjs (cross-origin isolation headers,
 * an optional Content-Security-Policy).
 *
 * puppeteer-core never downloads a browser: it drives the one at `CHROMIUM_PATH`, or the first of
 * /usr/bin/chromium, /usr/bin/chromium-browser, /usr/bin/google-chrome that exists (README, "Tests";
 * `.ci/run` installs Debian's chromium with apt).
 *
 * @module
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import puppeteer from "puppeteer-core";
import type { Browser, ConsoleMessage, Page } from "puppeteer-core";

/** Where the chromium binary is, or a clear error saying how to install it. */
export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
  const found = candidates.find((path) => path !== undefined && path !== "" && existsSync(path));
  if (found === undefined) {
    throw new Error(
      "browser specs: no chromium found (set CHROMIUM_PATH, or install Debian's: apt-get install -y chromium)",
    );
  }
  return found;
}

/** Launch headless chromium with a private profile (a fresh temp folder each time). */
export async function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    userDataDir: mkdtempSync(join(tmpdir(), "contrastive-chromium-")),
    // --no-sandbox: CI containers run as root, where chromium's sandbox refuses to start.
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run"],
  });
}

/** A server started by {@link serve}. */
export interface StaticServer {
  /** The base URL, ending in "/". */
  url: string;
  /** Stop listening. */
  close(): Promise<void>;
}

/** Options of {@link serve}: those of scripts/static-server.mjs. */
export interface ServeOptions {
  /** Content-Security-Policy header value (none by default). */
  csp?: string;
  /** Send COOP/COEP so the page is cross-origin isolated (default true). */
  isolation?: boolean;
}

/** Serve `root` on 127.0.0.1 (a free port) with the repository's static server. */
export async function serve(root: string, options: ServeOptions = {}): Promise<StaticServer> {
  const script = pathToFileURL(resolve(repositoryRoot(), "scripts", "static-server.mjs")).href;
  const module = (await import(script)) as {
    startStaticServer(options: { root: string; port?: number; csp?: string; isolation?: boolean }): Promise<StaticServer>;
  };
  return module.startStaticServer({ root, port: 0, ...options });
}

/** The repository root (the specs run from build/spec/browser, so it is found from the working directory). */
export function repositoryRoot(): string {
  return process.cwd();
}

/**
 * Record what a page says on its console and every uncaught error, so a spec can require silence:
 * `const log = watchConsole(page); … expect(log.errors).to.deep.equal([])`.
 */
export function watchConsole(page: Page): { errors: string[]; messages: string[] } {
  const log = { errors: [] as string[], messages: [] as string[] };
  page.on("console", (message: ConsoleMessage) => {
    const line = `${message.type()}: ${message.text()}`;
    log.messages.push(line);
    if (message.type() === "error") log.errors.push(line);
  });
  page.on("pageerror", (error: unknown) => log.errors.push(`pageerror: ${error instanceof Error ? error.message : String(error)}`));
  page.on("requestfailed", (request) => log.errors.push(`requestfailed: ${request.url()} ${request.failure()?.errorText ?? ""}`));
  return log;
}
