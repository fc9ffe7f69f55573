/**
 * Security headers: the page once had no Content-Security-Policy, no
 * `X-Content-Type-Options: nosniff` and no frame protection, and `/metrics` was public.
 * Now: the strict policy on the page and its files, nosniff and DENY framing on every
 * answer, a per-route way to relax the policy (for a documentation UI), and `/metrics`
 * behind `METRICS_TOKEN` (Bearer) when set. The web client working under this policy is
 * checked in a real browser in web-client.test.ts.
 */
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_CSP_DIRECTIVES, registerSecurityHeaders } from '../../src/http/security-headers.js';
import { startServer, type TestServer } from '../helpers/server.js';

const directives = (csp: string | null): Record<string, string> =>
  Object.fromEntries(
    (csp ?? '')
      .split(';')
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => [d.split(/\s+/)[0], d.split(/\s+/).slice(1).join(' ')]),
  );

describe('security headers on the page', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  it('GET /, /app.js, /style.css, the SDK bundle, /health and a 404 carry CSP (self only, no inline), nosniff and DENY framing', async () => {
    for (const path of ['/', '/app.js', '/style.css', '/sdk/focusroom-client.js', '/health', '/no-such-file']) {
      const res = await fetch(server.url + path);
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      const csp = directives(res.headers.get('content-security-policy'));
      expect(csp, path).toMatchObject({
        'default-src': "'self'",
        'script-src': "'self'",
        'style-src': "'self'",
        'connect-src': "'self'",
        'object-src': "'none'",
        'frame-ancestors': "'none'",
      });
      expect(res.headers.get('content-security-policy'), path).not.toMatch(/unsafe-inline|unsafe-eval|upgrade-insecure-requests/);
      expect(res.headers.get('strict-transport-security'), path).toBeNull();
    }
  });

  it('a route can relax the policy for itself (how a docs UI is added) while the others keep it', async () => {
    const app = Fastify();
    await registerSecurityHeaders(app);
    app.get('/docs', { helmet: { contentSecurityPolicy: { directives: { ...PAGE_CSP_DIRECTIVES, 'style-src': ["'self'", "'unsafe-inline'"] } } } }, async () => 'docs');
    app.get('/page', async () => 'page');
    await app.ready();
    const docs = await app.inject('/docs');
    const page = await app.inject('/page');
    expect(directives(docs.headers['content-security-policy'] as string)['style-src']).toBe("'self' 'unsafe-inline'");
    expect(directives(page.headers['content-security-policy'] as string)['style-src']).toBe("'self'");
    expect(docs.headers['x-content-type-options']).toBe('nosniff');
    await app.close();
  });
});

describe('/metrics behind METRICS_TOKEN', () => {
  const TOKEN = 'metrics-secret-0123456789abcdef';
  let closed: TestServer;
  let open: TestServer;
  beforeAll(async () => {
    [closed, open] = await Promise.all([startServer({ METRICS_TOKEN: TOKEN }), startServer()]);
  });
  afterAll(() => Promise.all([closed.close(), open.close()]));

  it('answers 401 without, with a wrong, a shorter, a longer or a non-Bearer token, and 200 with the right one', async () => {
    const get = (authorization?: string) => fetch(`${closed.url}/metrics`, { headers: authorization ? { authorization } : {} });
    const refusals = [undefined, 'Bearer wrong', `Bearer ${TOKEN.slice(0, -1)}`, `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, TOKEN, 'Bearer '];
    let refused = 0;
    for (const auth of refusals) {
      const res = await get(auth);
      expect(res.status, String(auth)).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await res.json()).toMatchObject({ error: { code: 'unauthorized' } });
      refused++;
    }
    expect(refused).toBe(7);
    const ok = await get(`Bearer ${TOKEN}`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^# HELP /m);
    expect((await get(`bearer ${TOKEN}`)).status).toBe(200);
  });

  it('stays open when METRICS_TOKEN is unset (the documented default)', async () => {
    const res = await fetch(`${open.url}/metrics`);
    expect(res.status).toBe(200);
  });

  it('a METRICS_TOKEN shorter than 16 characters stops the start with a message naming it', async () => {
    await expect(startServer({ METRICS_TOKEN: 'short' })).rejects.toThrow(/METRICS_TOKEN/);
  });
});
