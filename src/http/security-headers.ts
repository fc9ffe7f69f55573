/**
 * Security headers on every HTTP answer (@fastify/helmet): a Content-Security-Policy that
 * lets only our own files run on the page (the web client is module scripts, one
 * stylesheet and a Socket.IO connection back to its own origin — no inline code),
 * `X-Content-Type-Options: nosniff`, and frame protection both ways (`frame-ancestors
 * 'none'` and `X-Frame-Options: DENY`) so the page cannot be framed for clickjacking.
 *
 * Relaxing it for one route (e.g. a documentation UI that needs inline styles): pass
 * `helmet: { contentSecurityPolicy: { directives: { ...PAGE_CSP_DIRECTIVES, 'style-src': [...] } } }`
 * (or `helmet: false`) in that route's options — @fastify/helmet reads it per route; the
 * page keeps the strict policy.
 */
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/** The page's policy, exported so a route that must relax it starts from the same list. */
export const PAGE_CSP_DIRECTIVES = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  // The favicon is a data: URL (no request for /favicon.ico).
  'img-src': ["'self'", 'data:'],
  // 'self' covers ws:/wss: to the same host in CSP Level 3 browsers (Socket.IO's WebSocket).
  'connect-src': ["'self'"],
  'font-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
} as const satisfies Record<string, readonly string[]>;

export async function registerSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      // Copies: helmet's option type wants mutable arrays.
      directives: Object.fromEntries(Object.entries(PAGE_CSP_DIRECTIVES).map(([k, v]) => [k, [...v]])),
    },
    frameguard: { action: 'deny' },
    // HSTS is the TLS terminator's decision (the load balancer), not this plain-HTTP process:
    // sent from here it would pin a whole domain to HTTPS from a development server.
    strictTransportSecurity: false,
  });
}
