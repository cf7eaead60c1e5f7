/**
 * The inspector on the daemon's HTTP server: `GET /inspect` (the page, from the package's
 * `assets/inspect/`; every script and style served from here, nothing from the network),
 * `GET /inspect/assets/<file>` (its files, and elkjs's browser build for the layout), and
 * `GET /inspect/stream` (WebSocket: the inspection stream, src/inspect/hub.ts). Each needs an
 * inspector session (the cookie a one-time link sets: inspect-sessions.ts) or the API token.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { InspectionHub } from '../inspect/hub.js';
import { packageRoot } from '../package-root.js';
import { InspectSessions, sessionCookie } from './inspect-sessions.js';
import { bearerMatches } from './token.js';

export interface InspectRoutesOptions {
  inspection: InspectionHub | null;
  sessions: InspectSessions;
  /** The API token, which is accepted too (a script, a test). */
  token: string;
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.png': 'image/png', '.svg': 'image/svg+xml' };
/** Only what the page needs: same origin, no inline script, no network. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** The page's files, read once: `assets/inspect/*` and elkjs's bundled build. */
function loadAssets(): Map<string, { type: string; body: Buffer }> {
  const dir = path.join(packageRoot(), 'assets', 'inspect');
  const files = new Map<string, { type: string; body: Buffer }>();
  const add = (name: string, file: string): void => {
    try {
      files.set(name, { type: TYPES[path.extname(name)] ?? 'application/octet-stream', body: readFileSync(file) });
    } catch {
      // a file the page does not have is a 404
    }
  };
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((name) => /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name));
  } catch {
    // no page in this installation: /inspect says so
  }
  for (const name of names) add(name, path.join(dir, name));
  add('elk.bundled.js', createRequire(import.meta.url).resolve('elkjs/lib/elk.bundled.js'));
  return files;
}

export function registerInspectRoutes(app: FastifyInstance, options: InspectRoutesOptions): void {
  // Read on first use: a daemon whose inspector nobody opens never reads the page (elk alone is 1.6 MB).
  let loaded: ReturnType<typeof loadAssets> | undefined;
  const assets = { get: (name: string) => (loaded ??= loadAssets()).get(name) };
  const authorized = (request: FastifyRequest): boolean => {
    if (options.sessions.allows(request.headers.cookie)) return true;
    const queryToken = (request.query as { token?: unknown } | undefined)?.token;
    const header = request.headers.authorization ?? (typeof queryToken === 'string' && request.headers.upgrade ? `Bearer ${queryToken}` : undefined);
    return bearerMatches(header, options.token);
  };
  const refuse = (reply: FastifyReply): FastifyReply =>
    reply.code(401).type('text/html; charset=utf-8').header('content-security-policy', CSP)
      .send('<!doctype html><title>coord inspector</title><p>This link has expired or was already used. Run <code>coord inspect</code> for a new one.</p>');

  app.get('/inspect', async (request, reply) => {
    const code = (request.query as { code?: unknown }).code;
    if (typeof code === 'string') {
      const session = options.sessions.redeem(code);
      if (session === null) return refuse(reply);
      // The code leaves the address bar: the session is in the cookie from now on.
      return reply.code(303).header('set-cookie', sessionCookie(session)).header('location', '/inspect').header('cache-control', 'no-store').send();
    }
    if (!authorized(request)) return refuse(reply);
    const page = assets.get('index.html');
    if (page === undefined) return reply.code(500).type('text/plain').send('the inspector page is missing from this installation of coord');
    return reply.type(page.type).header('content-security-policy', CSP).header('cache-control', 'no-store').send(page.body);
  });

  app.get('/inspect/assets/:file', async (request, reply) => {
    if (!authorized(request)) return refuse(reply);
    const asset = assets.get((request.params as { file: string }).file);
    if (asset === undefined) return reply.code(404).type('text/plain').send('no such file');
    return reply.type(asset.type).header('cache-control', 'no-cache').send(asset.body);
  });

  app.get('/inspect/stream', { websocket: true }, (socket: WebSocket, request) => {
    if (!authorized(request)) {
      socket.close(4401, 'unauthorized: open the link coord inspect prints');
      return;
    }
    const hub = options.inspection;
    if (hub === null) {
      socket.close(4404, 'inspection is off (inspect: false)');
      return;
    }
    const unsubscribe = hub.subscribe({ send: (text) => socket.send(text), backlog: () => socket.bufferedAmount });
    socket.on('close', unsubscribe);
    socket.on('error', unsubscribe);
  });
}
