/**
 * Optional handshake authentication. With AUTH_JWT_SECRET the Socket.IO handshake must
 * carry `auth: { token }`, an HS256 JWT with `sub` and an unexpired `exp`; with
 * AUTH_JWKS_URL, an asymmetric JWT whose key is in that key set (served here by a local
 * HTTP server on loopback). Anything else is a `connect_error` with message
 * `unauthorized` (`unavailable` when the key set cannot be fetched). The `name` claim is
 * the default user_name. Without either variable the server is anonymous (the default).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call, closeAllClients, connect, record, waitFor } from '../helpers/client.js';
import { freePort } from '../helpers/ports.js';
import { startServer, type TestServer, useSharedServer } from '../helpers/server.js';

afterEach(() => closeAllClients());

const SECRET = 'test-secret-of-at-least-16-chars-0123456789';
const enc = (s: string) => new TextEncoder().encode(s);
const b64url = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

function hs256(claims: JWTPayload, secret = SECRET, alg = 'HS256'): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg }).sign(enc(secret));
}

/** Resolves with the connect_error message, or 'connected'. */
async function handshake(url: string, auth?: Record<string, unknown>): Promise<string> {
  try {
    await connect(url, auth ? { auth } : {});
    return 'connected';
  } catch (err) {
    return (err as Error).message;
  }
}

describe('AUTH_JWT_SECRET (HS256)', () => {
  const server = useSharedServer({ AUTH_JWT_SECRET: SECRET });

  it('refuses a missing, forged, expired, unsigned or incomplete token with `unauthorized`', async () => {
    const valid = { sub: 'user-1', exp: now() + 600 };
    const cases: Record<string, Record<string, unknown> | undefined> = {
      'no auth at all': undefined,
      'no token': {},
      'token not a string': { token: 12345 },
      'empty token': { token: '' },
      garbage: { token: 'not.a.jwt' },
      'forged (other secret)': { token: await hs256(valid, 'another-secret-of-enough-length') },
      expired: { token: await hs256({ sub: 'user-1', exp: now() - 10 }) },
      'alg none': { token: `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(valid)}.` },
      'alg HS512 (only HS256 is accepted)': { token: await hs256(valid, SECRET, 'HS512') },
      'missing sub': { token: await hs256({ exp: now() + 600 }) },
      'missing exp': { token: await hs256({ sub: 'user-1' }) },
      'not yet valid (nbf)': { token: await hs256({ ...valid, nbf: now() + 600 }) },
      'oversized token': { token: `${await hs256(valid)}${'x'.repeat(5_000)}` },
    };
    for (const [name, auth] of Object.entries(cases)) {
      expect(await handshake(server.url, auth), name).toBe('unauthorized');
    }
    expect(await handshake(server.url, { token: await hs256(valid) })).toBe('connected');
  });

  it('uses the name claim as the default user_name; an explicit user_name wins', async () => {
    const token = await hs256({ sub: 'user-2', name: '  Ada Lovelace ', exp: now() + 600 });
    const a = await connect(server.url, { auth: { token } });
    const created = await call(a, 'create_session', {});
    expect(created.ok).toBe(true);
    expect(created.session.participants[0].user_name).toBe('Ada Lovelace');
    // Another identity (one identity holds one seat per room: the same sub would take Ada's seat over).
    const other = await hs256({ sub: 'user-2b', name: 'Ada Byron', exp: now() + 600 });
    const b = await connect(server.url, { auth: { token: other } });
    const joined = await call(b, 'join_session', { room_code: created.room_code, user_name: 'Countess' });
    expect(joined.session.participants.map((p: { user_name: string }) => p.user_name)).toEqual(['Ada Lovelace', 'Countess']);
    // The JWT subjects are not exposed to other clients.
    expect(JSON.stringify(joined)).not.toContain('user-2');
  });

  it('holds the name claim to the user_name rules', async () => {
    // Without a usable name claim, user_name is required as usual.
    const anon = await connect(server.url, { auth: { token: await hs256({ sub: 'user-3', exp: now() + 600 }) } });
    expect(await call(anon, 'create_session', {})).toMatchObject({ ok: false, error: { code: 'invalid_payload', message: 'user_name is required' } });
    const control = await connect(server.url, { auth: { token: await hs256({ sub: 'user-4', name: 'Eve\u0000\u001b[31m', exp: now() + 600 }) } });
    expect(await call(control, 'create_session', {})).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    const notString = await connect(server.url, { auth: { token: await hs256({ sub: 'user-5', name: { first: 'x' }, exp: now() + 600 }) } });
    expect(await call(notString, 'create_session', {})).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    // A long name is cut to 40 characters (code points, never half an emoji).
    const long = await connect(server.url, { auth: { token: await hs256({ sub: 'user-6', name: `a${'\u{1F600}'.repeat(50)}`, exp: now() + 600 }) } });
    const created = await call(long, 'create_session', {});
    expect(created.ok).toBe(true);
    const name: string = created.session.participants[0].user_name;
    expect([...name]).toHaveLength(40);
    expect(name).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/); // no lone surrogate
  });
});

describe('token expiry while connected', () => {
  const server = useSharedServer({ AUTH_JWT_SECRET: SECRET });

  it('closes the socket when its token expires, keeps the seat, and a fresh token resumes it', async () => {
    const exp = now() + 2; // whole seconds: expires 1–2 s from now
    const host = await connect(server.url, { auth: { token: await hs256({ sub: 'host', exp }) } });
    const guest = await connect(server.url, { auth: { token: await hs256({ sub: 'guest', exp: now() + 600 }) } });
    const created = await call(host, 'create_session', { user_name: 'Host' });
    expect(created.ok).toBe(true);
    expect((await call(guest, 'join_session', { room_code: created.room_code, user_name: 'Guest' })).ok).toBe(true);

    const errors = record(host, 'error');
    const reason = await new Promise<{ reason: string; at: number }>((resolve) => host.once('disconnect', (r) => resolve({ reason: r, at: Date.now() })));
    // Closed by the server (no automatic reconnect), told why first, not before exp.
    expect(reason.reason).toBe('io server disconnect');
    expect(errors.map(({ _at, ...e }) => e)).toEqual([{ message: 'token expired', code: 'unauthorized' }]);
    expect(errors[0]!._at).toBeLessThanOrEqual(reason.at);
    expect(reason.at).toBeGreaterThanOrEqual(exp * 1000);
    expect(reason.at).toBeLessThan(exp * 1000 + 1_000);

    // Like a dropped connection: the guest stays, and the host's seat is kept for its
    // grace period (the resume below gets the same participant back).
    expect(guest.connected).toBe(true);

    // The expired token cannot come back; a fresh one resumes the same seat.
    expect(await handshake(server.url, { token: await hs256({ sub: 'host', exp }) })).toBe('unauthorized');
    host.auth = { token: await hs256({ sub: 'host', exp: now() + 600 }) };
    host.connect();
    await waitFor(host, 'connect');
    const resumed = await call(host, 'resume_session', { room_code: created.room_code, participant_id: created.participant_id, resume_token: created.resume_token });
    expect(resumed.ok).toBe(true);
    expect(resumed.participant_id).toBe(created.participant_id);
  }, 10_000);

  it('sockets with long-lived tokens are left alone', async () => {
    const a = await connect(server.url, { auth: { token: await hs256({ sub: 'a', exp: now() + 3_600 }) } });
    const created = await call(a, 'create_session', { user_name: 'A' });
    expect(created).toMatchObject({ ok: true });
    expect(a.connected).toBe(true);
  });
});

describe('anonymous mode (the default)', () => {
  it('needs no token, and ignores one that is sent', async () => {
    const server = await startServer({});
    try {
      expect(server.app.config.authJwtSecret).toBeNull();
      expect(server.app.config.authJwksUrl).toBeNull();
      expect(await handshake(server.url)).toBe('connected');
      expect(await handshake(server.url, { token: 'garbage' })).toBe('connected');
    } finally {
      await server.close();
    }
  });
});

describe('AUTH_JWKS_URL (asymmetric keys from a key set)', () => {
  let jwksServer: Server;
  let jwksUrl: string;
  let jwksRequests = 0;
  let server: TestServer;
  let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
  let ec: Awaited<ReturnType<typeof generateKeyPair>>;
  let stranger: Awaited<ReturnType<typeof generateKeyPair>>;

  type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  const sign = (claims: JWTPayload, key: PrivateKey, alg: string, kid: string) => new SignJWT(claims).setProtectedHeader({ alg, kid }).sign(key);

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256', { extractable: true });
    ec = await generateKeyPair('ES256', { extractable: true });
    stranger = await generateKeyPair('RS256', { extractable: true });
    const keys = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ];
    jwksServer = createServer((req, res) => {
      jwksRequests += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys }));
    });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
    server = await startServer({ AUTH_JWKS_URL: jwksUrl, AUTH_JWT_AUDIENCE: 'focusroom', AUTH_JWT_ISSUER: 'https://idp.example' });
  });
  afterAll(async () => {
    await server?.close();
    await new Promise((r) => jwksServer?.close(r));
  });

  const base = () => ({ sub: 'idp|42', exp: now() + 600, aud: 'focusroom', iss: 'https://idp.example', name: 'Grace' });

  it('accepts tokens signed by a key in the set (RS256, ES256) and uses their name claim', async () => {
    expect(await handshake(server.url, { token: await sign(base(), rsa.privateKey, 'RS256', 'rsa-1') })).toBe('connected');
    const s = await connect(server.url, { auth: { token: await sign(base(), ec.privateKey, 'ES256', 'ec-1') } });
    const created = await call(s, 'create_session', {});
    expect(created.session.participants[0].user_name).toBe('Grace');
    // The key set is fetched once and cached, not per connection.
    for (let i = 0; i < 5; i++) expect(await handshake(server.url, { token: await sign(base(), rsa.privateKey, 'RS256', 'rsa-1') })).toBe('connected');
    expect(jwksRequests).toBeLessThanOrEqual(2);
  });

  it('refuses foreign keys, HS256 key confusion, wrong audience/issuer, expiry and missing sub', async () => {
    const publicPem = await exportSPKI(rsa.publicKey);
    const cases: Record<string, string> = {
      'key not in the set (same kid)': await sign(base(), stranger.privateKey, 'RS256', 'rsa-1'),
      'unknown kid': await sign(base(), stranger.privateKey, 'RS256', 'nope'),
      'HS256 signed with the public key': await new SignJWT(base()).setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' }).sign(enc(publicPem)),
      'alg none': `${b64url({ alg: 'none', kid: 'rsa-1' })}.${b64url(base())}.`,
      'wrong audience': await sign({ ...base(), aud: 'another-app' }, rsa.privateKey, 'RS256', 'rsa-1'),
      'wrong issuer': await sign({ ...base(), iss: 'https://evil.example' }, rsa.privateKey, 'RS256', 'rsa-1'),
      expired: await sign({ ...base(), exp: now() - 10 }, rsa.privateKey, 'RS256', 'rsa-1'),
      'missing sub': await sign({ ...base(), sub: undefined }, rsa.privateKey, 'RS256', 'rsa-1'),
    };
    for (const [name, token] of Object.entries(cases)) expect(await handshake(server.url, { token }), name).toBe('unauthorized');
  });

  it('answers `unavailable` (not `unauthorized`) while the key set cannot be fetched', async () => {
    const deadUrl = `http://127.0.0.1:${await freePort()}/jwks.json`;
    const dead = await startServer({ AUTH_JWKS_URL: deadUrl });
    try {
      expect(await handshake(dead.url, { token: await sign(base(), rsa.privateKey, 'RS256', 'rsa-1') })).toBe('unavailable');
      // A malformed token is still simply unauthorized.
      expect(await handshake(dead.url, { token: 'garbage' })).toBe('unauthorized');
    } finally {
      await dead.close();
    }
  });

  it('with both variables set, the token header picks the key', async () => {
    const both = await startServer({ AUTH_JWKS_URL: jwksUrl, AUTH_JWT_SECRET: SECRET });
    try {
      expect(await handshake(both.url, { token: await hs256({ sub: 'u', exp: now() + 60 }) })).toBe('connected');
      expect(await handshake(both.url, { token: await sign({ sub: 'u', exp: now() + 60 }, rsa.privateKey, 'RS256', 'rsa-1') })).toBe('connected');
      expect(await handshake(both.url, { token: await hs256({ sub: 'u', exp: now() + 60 }, 'wrong-secret-wrong-secret') })).toBe('unauthorized');
    } finally {
      await both.close();
    }
  });
});
