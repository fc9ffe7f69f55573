/**
 * Browser origin check (CORS_ORIGINS). WebSocket upgrades are not covered by CORS, so the
 * server checks Origin itself in allowRequest: a listed origin, no Origin (native apps) and
 * same-origin (Origin host = Host header: our own web client) are let in; anything else is
 * refused before a session exists. Long-polling additionally gets CORS headers only for
 * allowed origins. In production with no CORS_ORIGINS only same-origin browsers get in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer, useSharedServer } from '../helpers/server.js';
import { RawClient } from './security-support.js';

const APP = 'https://app.example';
const EVIL = 'https://evil.example';

/** Opens a raw WebSocket with the given headers; resolves 'ok' once the namespace is joined. */
async function wsHandshake(url: string, headers: Record<string, string>): Promise<string> {
  try {
    const c = await RawClient.connect(url, headers);
    c.close();
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  }
}

/** The first long-polling request of a handshake. */
function pollingHandshake(url: string, headers: Record<string, string>) {
  return fetch(`${url}/socket.io/?EIO=4&transport=polling&t=${Date.now()}`, { headers });
}

describe('CORS_ORIGINS=https://app.example', () => {
  let server: TestServer;
  let host: string;
  beforeAll(async () => {
    server = await startServer({ CORS_ORIGINS: APP });
    host = new URL(server.url).host;
  });
  afterAll(() => server.close());

  it('refuses a WebSocket handshake from a foreign origin', async () => {
    expect(await wsHandshake(server.url, { Origin: EVIL })).toMatch(/refused: HTTP 4\d\d/);
    expect(await wsHandshake(server.url, { Origin: 'https://app.example.evil.example' })).toMatch(/refused/);
    expect(await wsHandshake(server.url, { Origin: 'http://app.example' })).toMatch(/refused/); // scheme matters
    expect(await wsHandshake(server.url, { Origin: 'null' })).toMatch(/refused/);
  });

  it('accepts the listed origin, no Origin at all, and same-origin', async () => {
    expect(await wsHandshake(server.url, { Origin: APP })).toBe('ok');
    expect(await wsHandshake(server.url, {})).toBe('ok');
    expect(await wsHandshake(server.url, { Origin: `http://${host}` })).toBe('ok');
  });

  it('gives long-polling CORS headers to the listed origin only', async () => {
    const ok = await pollingHandshake(server.url, { Origin: APP });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(APP);
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    expect(await ok.text()).toMatch(/^0\{"sid"/);

    const evil = await pollingHandshake(server.url, { Origin: EVIL });
    expect(evil.status).toBeGreaterThanOrEqual(400);
    expect(evil.headers.get('access-control-allow-origin')).not.toBe(EVIL);
    expect(await evil.text()).not.toContain('"sid"');

    const preflight = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`, {
      method: 'OPTIONS',
      headers: { Origin: EVIL, 'Access-Control-Request-Method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).not.toBe(EVIL);
    expect(preflight.headers.get('access-control-allow-origin')).not.toBe('*');
  });
});

describe('production default (NODE_ENV=production, no CORS_ORIGINS)', () => {
  const server = useSharedServer({ NODE_ENV: 'production' });

  it('refuses foreign origins and accepts same-origin and native (no Origin) clients', async () => {
    expect(server.app.config.corsOrigins).toEqual([]);
    expect(await wsHandshake(server.url, { Origin: EVIL })).toMatch(/refused/);
    expect(await wsHandshake(server.url, { Origin: `http://${new URL(server.url).host}` })).toBe('ok');
    expect(await wsHandshake(server.url, {})).toBe('ok');
    const evil = await pollingHandshake(server.url, { Origin: EVIL });
    expect(evil.status).toBeGreaterThanOrEqual(400);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('development default (no CORS_ORIGINS)', () => {
  it('allows any origin, as documented', async () => {
    const server = await startServer({ NODE_ENV: 'development' });
    try {
      expect(server.app.config.corsOrigins).toBeNull();
      expect(await wsHandshake(server.url, { Origin: EVIL })).toBe('ok');
    } finally {
      await server.close();
    }
  });
});
