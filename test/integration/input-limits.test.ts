/**
 * Input limits and secrets: user_name and task title lengths, tasks per room, one room per
 * socket, no stack traces or internal identifiers (socket ids, token hashes, JWT subjects)
 * to clients, resume tokens checked in constant time and never written to the log — the
 * last one against a real child process at LOG_LEVEL=trace, in memory and in Redis mode
 * with Redis failing mid-request (the error-logging paths).
 */
import { createHash } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/contract/limits.js';
import { tokenMatches, hashToken } from '../../src/domain/tokens.js';
import { StoreUnavailable } from '../../src/store/store-errors.js';
import { call, callUnchecked, type Client, closeAllClients, connect, eventually, record, roomWith } from '../helpers/client.js';
import { startRedis } from '../helpers/redis-server.js';
import { useSharedServer } from '../helpers/server.js';
import { badAck, LEAK, spawnServer } from './security-support.js';

afterEach(() => closeAllClients());

describe('limits on names, titles, tasks and rooms per socket', () => {
  const server = useSharedServer();

  it(`user_name: 1–${LIMITS.userNameMax} characters after trimming, in code points, no control characters, never coerced`, async () => {
    const s = await connect(server.url);
    const create = (user_name: unknown) => callUnchecked(s, 'create_session', { user_name });
    const refused = { ok: false, error: { code: 'invalid_payload' } };
    for (const bad of ['', '   ', 'n'.repeat(LIMITS.userNameMax + 1), '\u{1F600}'.repeat(LIMITS.userNameMax + 1), 'a\u0000b', 'tab\there', 'lone\uD800', 'bell\u0007', 42, null, ['x'], { first: 'x' }]) {
      expect(await create(bad), JSON.stringify(bad)).toMatchObject(refused);
    }
    const emoji = await create(` ${'\u{1F600}'.repeat(LIMITS.userNameMax)} `);
    expect(emoji.ok).toBe(true);
    expect(emoji.session.participants[0].user_name).toBe('\u{1F600}'.repeat(LIMITS.userNameMax));
  });

  it(`task title: at most ${LIMITS.taskTitleMax} characters, at most ${LIMITS.tasksPerRoom} tasks per room`, async () => {
    const [host] = await Promise.all([connect(server.url)]);
    await roomWith(host, []);
    expect(await call(host, 'add_task', { title: 't'.repeat(LIMITS.taskTitleMax + 1) })).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    expect(await call(host, 'add_task', { title: ' \u200B ' })).toMatchObject({ ok: true }); // zero-width space is not a control character
    expect(await call(host, 'add_task', { title: 't'.repeat(LIMITS.taskTitleMax) })).toMatchObject({ ok: true });
    for (let i = 2; i < LIMITS.tasksPerRoom; i++) expect((await call(host, 'add_task', { title: `task ${i}` })).ok).toBe(true);
    const over = await call(host, 'add_task', { title: 'one too many' });
    expect(over).toMatchObject({ ok: false, error: { code: 'invalid_state' } });
  });

  it('a socket is in at most one room: create or join while seated is invalid_state, after leaving it is free', async () => {
    const [a, b] = await Promise.all([connect(server.url), connect(server.url)]);
    const roomA = await call(a, 'create_session', { user_name: 'A' });
    const roomB = await call(b, 'create_session', { user_name: 'B' });
    expect(await call(a, 'create_session', { user_name: 'A' })).toMatchObject({ ok: false, error: { code: 'invalid_state' } });
    expect(await call(a, 'join_session', { room_code: roomB.room_code, user_name: 'A' })).toMatchObject({ ok: false, error: { code: 'invalid_state' } });
    expect(await call(a, 'join_session', { room_code: roomA.room_code, user_name: 'A again' })).toMatchObject({ ok: false, error: { code: 'invalid_state' } });
    // Concurrent creates from one socket still make one room (events run in order).
    const c = await connect(server.url);
    const both = await Promise.all([call(c, 'create_session', { user_name: 'C' }), call(c, 'create_session', { user_name: 'C' })]);
    expect(both.filter((r) => r.ok)).toHaveLength(1);
    expect(await call(a, 'leave_session')).toMatchObject({ ok: true });
    expect(await call(a, 'join_session', { room_code: roomB.room_code, user_name: 'A' })).toMatchObject({ ok: true });
  });
});

describe('nothing internal reaches a client', () => {
  const server = useSharedServer({ AUTH_JWT_SECRET: 'a-secret-of-at-least-16-characters' });

  const token = (sub: string) =>
    new SignJWT({ sub, name: sub }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('10m').sign(new TextEncoder().encode('a-secret-of-at-least-16-characters'));

  it('no socket ids, token hashes, other seats\u2019 tokens or JWT subjects in replies, broadcasts or GET /session', async () => {
    const subs = ['sub-host-7f3a', 'sub-guest-91bc'];
    const [host, guest] = await Promise.all(subs.map(async (s) => connect(server.url, { auth: { token: await token(s) } })));
    const seen: string[] = [];
    for (const c of [host!, guest!]) (c as unknown as { onAny(f: (e: string, p: unknown) => void): void }).onAny((e, p) => seen.push(`${e} ${JSON.stringify(p)}`));
    const { code, created, joined } = await roomWith(host!, [guest!]);
    await call(host!, 'add_task', { title: 'x' });
    await call(host!, 'start_session');
    await call(guest!, 'update_status', { status: 'paused' });
    const again = await connect(server.url, { auth: { token: await token('sub-host-7f3a') } });
    const connections = record(guest!, 'participant_connection');
    host!.disconnect();
    await eventually(() => expect(connections).toHaveLength(1));
    const resumed = await call(again, 'resume_session', { room_code: code, participant_id: created.participant_id, resume_token: created.resume_token, last_seq: 0 });
    await eventually(() => expect(connections).toHaveLength(2));
    const http = await (await fetch(`${server.url}/session/${code}`)).text();

    const everything = [...seen, JSON.stringify(created), JSON.stringify(joined), JSON.stringify(resumed), http].join('\n');
    const secrets = [
      host!.id ?? 'no-id',
      guest!.id!,
      again.id!,
      hashToken(created.resume_token),
      hashToken(joined[0]!.resume_token),
      ...subs,
      'token_hash',
      'socket_id',
      'user_sub',
      'disconnected_at',
    ];
    for (const secret of secrets) expect(everything.includes(secret), secret).toBe(false);
    // Each client only ever sees its own resume token.
    expect(seen.filter((l) => l.includes(created.resume_token)).every((l) => l.startsWith('session_created') || l.startsWith('session_joined'))).toBe(true);
    expect(seen.filter((l) => l.includes(joined[0]!.resume_token)).every((l) => l.startsWith('session_joined'))).toBe(true);
    expect(http).not.toMatch(/Host|Guest|sub-/);
  });

  it('an internal failure is `internal` with a fixed message: no stack, path or cause', async () => {
    const s = await connect(server.url, { auth: { token: await token('u1') } });
    const store = server.app.store as unknown as { update: (...a: unknown[]) => Promise<unknown> };
    const original = store.update;
    await call(s, 'create_session', {});
    store.update = async () => {
      const err = new TypeError("Cannot read properties of undefined (reading 'participants') at /work/main/src/store/x.ts:12:7");
      throw err;
    };
    try {
      const reply = await call(s, 'add_task', { title: 'boom' });
      expect(reply).toEqual({ ok: false, error: { code: 'internal', message: 'internal error' } });
      expect(badAck(reply)).toBeNull();
      // What a store throws when its backend cannot answer (the Redis store wraps ioredis errors so).
      store.update = async () => {
        throw new StoreUnavailable('redis: connect ECONNREFUSED 127.0.0.1:6379 Connection is closed.');
      };
      const down = await call(s, 'add_task', { title: 'boom' });
      expect(down).toMatchObject({ ok: false, error: { code: 'unavailable' } });
      expect(LEAK.test(down.error.message)).toBe(false);
    } finally {
      store.update = original;
    }
    expect(await call(s, 'add_task', { title: 'fine again' })).toMatchObject({ ok: true });
  });
});

describe('resume tokens', () => {
  it('are compared in constant time over their hashes and never throw on odd input', () => {
    const token = 'A'.repeat(32);
    const stored = hashToken(token);
    expect(tokenMatches(token, stored)).toBe(true);
    for (const wrong of ['A'.repeat(31), 'A'.repeat(33), '', 'B'.repeat(32), '\u{1F600}'.repeat(16), '\uD800'.repeat(8)]) {
      expect(tokenMatches(wrong, stored)).toBe(false);
    }
    // A corrupt stored hash (wrong length) is a mismatch, not a timingSafeEqual RangeError.
    expect(tokenMatches(token, 'abcd')).toBe(false);
    expect(stored).toBe(createHash('sha256').update(token).digest('hex'));
  });
});

/** Every secret of a seat, and the raw token of a JWT, must be absent from the output. */
function expectNoSecrets(output: string, secrets: string[]): void {
  expect(output.length).toBeGreaterThan(0);
  for (const s of secrets) expect(output.includes(s), `log contains ${s.slice(0, 12)}…`).toBe(false);
}

/** The host signs in with `jwt`, the guest with `guestJwt`: one identity holds one seat per room. */
async function exercise(url: string, jwt: string, guestJwt: string) {
  const [host, guest] = await Promise.all([connect(url, { auth: { token: jwt } }), connect(url, { auth: { token: guestJwt } })]);
  const { code, created, joined } = await roomWith(host, [guest]);
  const back = await connect(url, { auth: { token: jwt } });
  host.disconnect();
  const resumed = await call(back, 'resume_session', { room_code: code, participant_id: created.participant_id, resume_token: created.resume_token, last_seq: 0 });
  expect(resumed.ok).toBe(true);
  const prober = await connect(url, { auth: { token: jwt } });
  // A wrong token for sure: the real one may end in 'x' (1 in 64), which made this flaky.
  const real = joined[0]!.resume_token;
  const wrongToken = `${real.slice(0, 31)}${real[31] === 'x' ? 'y' : 'x'}`;
  expect((await call(prober, 'resume_session', { room_code: code, participant_id: joined[0]!.participant_id, resume_token: wrongToken })).ok).toBe(false);
  return { code, created, joined: joined[0]!, back, guest };
}

describe('resume tokens are never logged (child process, LOG_LEVEL=trace)', () => {
  const SECRET = 'log-test-secret-of-enough-length';
  const jwtFor = (sub = 'log-sub') => new SignJWT({ sub, name: 'Logger' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));

  it('memory mode: create, join, resume, wrong token, leave, shutdown', async () => {
    const child = await spawnServer({ LOG_LEVEL: 'trace', AUTH_JWT_SECRET: SECRET, RATE_JOIN_FAILURES_PER_MIN: '1000' });
    try {
      const jwt = await jwtFor();
      const guestJwt = await jwtFor('log-sub-guest');
      const { created, joined, back, guest } = await exercise(child.url, jwt, guestJwt);
      await call(back, 'leave_session');
      await call(guest, 'leave_session');
      closeAllClients();
      child.proc.kill('SIGTERM');
      expect((await child.exited).code).toBe(0);
      expectNoSecrets(child.output(), [created.resume_token, joined.resume_token, hashToken(created.resume_token), hashToken(joined.resume_token), jwt, guestJwt, SECRET]);
    } finally {
      child.kill();
    }
  });

  it('Redis mode, with Redis failing mid-request (error logging paths)', async () => {
    const redis = await startRedis();
    const child = await spawnServer({ LOG_LEVEL: 'trace', AUTH_JWT_SECRET: SECRET, REDIS_URL: redis.url });
    try {
      const jwt = await jwtFor();
      const guestJwt = await jwtFor('log-sub-guest');
      const { code, created, joined, back } = await exercise(child.url, jwt, guestJwt);
      redis.kill();
      // Calls carrying tokens while the store is down: answered `unavailable`, and logged.
      const during: Client = back;
      const r1 = await call(during, 'resume_session', { room_code: code, participant_id: created.participant_id, resume_token: created.resume_token }, 8_000);
      const r2 = await call(during, 'add_task', { title: joined.resume_token.slice(0, 10) }, 8_000);
      expect([r1, r2].every((r) => !r.ok && ['unavailable', 'internal', 'invalid_state'].includes(r.error.code))).toBe(true);
      closeAllClients();
      child.proc.kill('SIGTERM');
      await child.exited;
      const out = child.output();
      expect(out).toMatch(/"level":(40|50)/); // the failure paths did log
      expectNoSecrets(out, [created.resume_token, joined.resume_token, hashToken(created.resume_token), hashToken(joined.resume_token), jwt, guestJwt, SECRET]);
    } finally {
      child.kill();
      await redis.stop();
    }
  }, 30_000);
});
