#!/usr/bin/env node
/**
 * A small static file server for the browser pages (the playground, the browser specs), with the
 * headers those pages need:
 *
 *   Cross-Origin-Opener-Policy: same-origin      together these make the page cross-origin
 *   Cross-Origin-Embedder-Policy: require-corp   isolated, so SharedArrayBuffer (the worker pool) exists
 *   Cross-Origin-Resource-Policy: same-origin    every file we serve may be embedded by our own pages
 *   Content-Security-Policy (optional)           e.g. "script-src 'self'", to prove a page needs no eval
 *
 * Only files under `root` are served (a path that escapes it is a 403), only GET and HEAD, and nothing
 * is fetched from anywhere else. It listens on 127.0.0.1 only.
 *
 *   node scripts/static-server.mjs DIR [--port 8080] [--csp "script-src 'self'"] [--no-isolation]
 *
 * or from code: `const server = await startStaticServer({ root, port: 0 }); … server.url … await server.close()`.
 */
import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** Content types of the files the pages use; anything else is served as bytes. */
const CONTENT_TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".wasm": "application/wasm",
  ".txt": "text/plain; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
};

/**
 * Start serving `root`. Options: `port` (0 picks a free one), `csp` (a Content-Security-Policy header
 * value, or none), `isolation` (send COOP/COEP, default true). Resolves to `{ url, port, close }`.
 */
export async function startStaticServer({ root, port = 0, csp, isolation = true }) {
  const base = resolve(root);
  const server = createServer((request, response) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { Allow: "GET, HEAD" }).end();
      return;
    }
    const url = new URL(request.url ?? "/", "http://localhost");
    let path;
    try {
      path = normalize(join(base, decodeURIComponent(url.pathname)));
    } catch {
      response.writeHead(400).end("bad path");
      return;
    }
    if (path !== base && !path.startsWith(base + sep)) {
      response.writeHead(403).end("outside the served folder");
      return;
    }
    let stat;
    try {
      stat = statSync(path);
      if (stat.isDirectory()) {
        path = join(path, "index.html");
        stat = statSync(path);
      }
    } catch {
      response.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end(`not found: ${url.pathname}`);
      return;
    }
    const headers = {
      "Content-Type": CONTENT_TYPES[extname(path).toLowerCase()] ?? "application/octet-stream",
      "Content-Length": String(stat.size),
      "Cache-Control": "no-store",
      "Cross-Origin-Resource-Policy": "same-origin",
      ...(isolation ? { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" } : {}),
      ...(csp === undefined ? {} : { "Content-Security-Policy": csp }),
    };
    response.writeHead(200, headers);
    if (request.method === "HEAD") response.end();
    else createReadStream(path).pipe(response);
  });
  await new Promise((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolveListen);
  });
  const address = server.address();
  const actualPort = typeof address === "object" && address !== null ? address.port : port;
  return {
    url: `http://127.0.0.1:${actualPort}/`,
    port: actualPort,
    // closeAllConnections: a browser keeps its connections alive, which would hold close() forever.
    close: () =>
      new Promise((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

// As a command: serve a folder until interrupted.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const flag = (name) => {
    const index = args.indexOf(`--${name}`);
    return index >= 0 ? args[index + 1] : undefined;
  };
  const root = args[0];
  if (root === undefined || root.startsWith("--")) {
    console.error(`usage: node scripts/static-server.mjs DIR [--port 8080] [--csp "script-src 'self'"] [--no-isolation]`);
    process.exit(2);
  }
  const server = await startStaticServer({
    root,
    port: Number(flag("port") ?? 8080),
    csp: flag("csp"),
    isolation: !args.includes("--no-isolation"),
  });
  console.log(`serving ${resolve(root)} on ${server.url} (cross-origin isolated: ${!args.includes("--no-isolation")})`);
}
