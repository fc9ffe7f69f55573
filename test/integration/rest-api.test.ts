/**
 * The REST layer itself: the OpenAPI 3.1 document (checked by a real validator, and
 * describing every route), Swagger UI at /docs with its own CSP, one error shape for
 * every failure, and the socket's origin rule applied to REST.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.js';
import { expectHttpError, http } from '../helpers/http.js';

describe('OpenAPI and Swagger UI', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  it('GET /openapi.json is a valid OpenAPI 3.1 document describing every route', async () => {
    const res = await http(`${server.url}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const result = await new Validator().validate(res.body);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    const paths = Object.keys(res.body.paths);
    for (const p of ['/health', '/metrics', '/session/{code}', '/sessions/{code}']) expect(paths).toContain(p);
    // Generated from the zod schemas: the lookup's response is the schema, not prose.
    const lookup = res.body.paths['/sessions/{code}'].get;
    expect(lookup.parameters).toEqual([expect.objectContaining({ in: 'path', name: 'code', required: true })]);
    expect(lookup.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/SessionLookup' });
    expect(res.body.components.schemas.SessionLookup.required).toContain('seq');
    expect(Object.keys(lookup.responses).sort()).toEqual(['200', '400', '404', '429', '503']);
    // The documents themselves and the UI's assets are not API routes.
    expect(paths.some((p) => p.startsWith('/docs') || p === '/openapi.json')).toBe(false);
  });

  it('GET /docs serves Swagger UI with a CSP that lets it run on plain HTTP', async () => {
    const page = await fetch(`${server.url}/docs/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toMatch(/swagger-ui/i);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self'/);
    expect(csp).not.toMatch(/upgrade-insecure-requests/);
    const init = await fetch(`${server.url}/docs/static/swagger-initializer.js`);
    expect(init.status).toBe(200);
    expect(await init.text()).toMatch(/SwaggerUIBundle/);
    // The UI reads the same generated document.
    const [uiDoc, doc] = await Promise.all([http(`${server.url}/docs/json`), http(`${server.url}/openapi.json`)]);
    expect(uiDoc.body).toEqual(doc.body);
    expect((await fetch(`${server.url}/docs`, { redirect: 'manual' })).status).toBeLessThan(400);
  });

  it('every failure is { error: { code, message } }: unknown route, bad params, wrong method', async () => {
    expectHttpError(await http(`${server.url}/no/such/route`), 404, 'not_found');
    expectHttpError(await http(`${server.url}/sessions/abc`), 400, 'invalid_payload');
    expectHttpError(await http(`${server.url}/sessions/${'A'.repeat(100)}`), 400, 'invalid_payload');
    expectHttpError(await http(`${server.url}/sessions/ZZZZZZ`), 404, 'not_found');
    expectHttpError(await http(`${server.url}/health`, { method: 'DELETE' }), 404, 'not_found');
  });
});

describe('origin rule (CORS_ORIGINS=https://app.example), as for the socket', () => {
  const APP = 'https://app.example';
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ CORS_ORIGINS: APP });
  });
  afterAll(() => server.close());

  it('a foreign origin is refused 403 before any route runs; the listed one gets CORS headers', async () => {
    expectHttpError(await http(`${server.url}/sessions/ZZZZZZ`, { headers: { origin: 'https://evil.example' } }), 403, 'unauthorized');
    expectHttpError(await http(`${server.url}/health`, { headers: { origin: 'null' } }), 403, 'unauthorized');
    const ok = await http(`${server.url}/health`, { headers: { origin: APP } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(APP);
    // No Origin (a backend, curl) and same-origin (our own page) pass.
    expect((await http(`${server.url}/health`)).status).toBe(200);
    expect((await http(`${server.url}/health`, { headers: { origin: server.url } })).status).toBe(200);
  });

  it('preflight: the listed origin may send Authorization and JSON; a foreign one is refused', async () => {
    const pre = await fetch(`${server.url}/sessions/ZZZZZZ/tasks`, {
      method: 'OPTIONS',
      headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(APP);
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    expect(pre.headers.get('access-control-allow-methods')).toMatch(/PATCH/);
    const evil = await fetch(`${server.url}/sessions/ZZZZZZ/tasks`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });
});
