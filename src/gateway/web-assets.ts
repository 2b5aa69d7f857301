/**
 * The live-graphs page's files: src/gateway/web/ (index.html, app.js, style.css) and uPlot from
 * node_modules/uplot/dist. Read from disk on each request (they are small, and an edited page shows
 * on reload); only these names are served, so no path ever reaches the file system from a URL.
 */
import { existsSync, readFile } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';

const here = dirname(fileURLToPath(import.meta.url));
// Next to this module in a checkout (src/gateway/web); from dist/gateway, the package ships src/.
const webDir = [join(here, 'web'), join(here, '..', '..', 'src', 'gateway', 'web')].find((d) => existsSync(join(d, 'index.html'))) ?? join(here, 'web');

function uplotDir(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
  } catch {
    return undefined;
  }
}
const uplot = uplotDir();

const FILES: Record<string, { path: string | undefined; type: string }> = {
  '/': { path: join(webDir, 'index.html'), type: 'text/html; charset=utf-8' },
  '/index.html': { path: join(webDir, 'index.html'), type: 'text/html; charset=utf-8' },
  '/app.js': { path: join(webDir, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/style.css': { path: join(webDir, 'style.css'), type: 'text/css; charset=utf-8' },
  '/vendor/uPlot.iife.min.js': { path: uplot && join(uplot, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/uPlot.min.css': { path: uplot && join(uplot, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

/** Serves one of the page's files; false when `path` is not one of them. */
export function serveWeb(path: string, res: ServerResponse): boolean {
  const f = FILES[path];
  if (f === undefined) return false;
  if (f.path === undefined) {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('uplot is not installed (npm install uplot)');
    return true;
  }
  readFile(f.path, (err, data) => {
    if (err) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': f.type,
      'content-length': data.length,
      'cache-control': 'no-cache',
      // The page loads only its own files and talks only to this gateway.
      'content-security-policy': "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
      'x-content-type-options': 'nosniff',
    });
    res.end(data);
  });
  return true;
}
