/**
 * Seats under the failed-join and connection limits, on one server, with the limits an
 * operator would set low:
 *
 * - wrong tokens: 20 wrong resume tokens from one address, then the correct token from the
 *   same address was refused `rate_limited`. Now a correct resume is never refused by the
 *   failed-join limit; wrong tokens are counted per address AND room (they do not spend
 *   the address's budget for unknown codes, nor touch other rooms), and code guessing is
 *   still capped per address.
 * - the handshake: a handshake whose `auth` carries a live seat is
 *   verified there and not charged to RATE_CONNECTIONS_PER_MIN; a wrong or dead seat is
 *   charged like any connection; one seat may skip the budget SEAT_RECONNECTS_PER_MIN
 *   times a minute, no more.
 *
 * All clients come from 127.0.0.1; with TRUST_PROXY=true, X-Forwarded-For stands in for
 * the addresses a load balancer would report.
 */
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SEAT_RECONNECTS_PER_MIN } from '../../src/limits/rate-limits.js';
import { call, type Client, closeAllClients, connect, roomWith } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';

afterEach(() => closeAllClients());

const from = (ip: string, auth: Record<string, unknown> = {}) => ({ extraHeaders: { 'x-forwarded-for': ip }, auth });
const ghost = (i: number) => `ZZZZ${'23456789'[i % 8]}${'ABCDEFGH'[Math.floor(i / 8) % 8]}`;
const WRONG = (i: number) => `wrong-token-${i}`.padEnd(32, 'x');

describe('failed resumes (RATE_JOIN_FAILURES_PER_MIN = 20)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ RATE_JOIN_FAILURES_PER_MIN: '20', TRUST_PROXY: 'true' });
  });
  afterAll(() => server.close());

  it('20 wrong tokens from one address, then the correct token from that address resumes the seat', async () => {
    const [host, guest] = await Promise.all([connect(server.url, from('10.20.0.1')), connect(server.url, from('10.20.0.1'))]);
    const { code, joined } = await roomWith(host, [guest]);
    const seat = { room_code: code, participant_id: joined[0]!.participant_id as string, resume_token: joined[0]!.resume_token as string };
    const nat = await connect(server.url, from('10.20.0.9'));
    const answers: string[] = [];
    for (let i = 0; i < 20; i++) answers.push((await call(nat, 'resume_session', { ...seat, resume_token: WRONG(i) })).error?.code);
    expect(answers).toEqual(Array(20).fill('invalid_token'));
    // The 21st wrong one for this room is refused...
    expect(await call(nat, 'resume_session', { ...seat, resume_token: WRONG(20) })).toMatchObject({ ok: false, error: { code: 'rate_limited' } });
    // ...but the owner's phone behind the same NAT gets its seat back.
    guest.disconnect();
    const back = await connect(server.url, from('10.20.0.9'));
    const resumed = await call(back, 'resume_session', seat);
    expect(resumed).toMatchObject({ ok: true, resumed: true, participant_id: seat.participant_id });
    // And the wrong tokens did not spend the address's budget for codes: a join still works.
    const other = await connect(server.url, from('10.20.0.9'));
    expect(await call(other, 'join_session', { room_code: code, user_name: 'Third' })).toMatchObject({ ok: true });
  });

  it('wrong tokens are counted per room: 20 on room A leave room B answering invalid_token', async () => {
    const hosts = await Promise.all([connect(server.url, from('10.21.0.1')), connect(server.url, from('10.21.0.2'))]);
    const a = await roomWith(hosts[0]!, []);
    const b = await roomWith(hosts[1]!, []);
    const prober = await connect(server.url, from('10.21.0.9'));
    const probe = (r: typeof a, i: number) => call(prober, 'resume_session', { room_code: r.code, participant_id: r.created.participant_id, resume_token: WRONG(i) });
    for (let i = 0; i < 20; i++) expect(await probe(a, i)).toMatchObject({ error: { code: 'invalid_token' } });
    expect(await probe(a, 20)).toMatchObject({ error: { code: 'rate_limited' } });
    expect(await probe(b, 0)).toMatchObject({ error: { code: 'invalid_token' } });
  });

  it('guessing codes stays capped per address: after 20 unknown codes, resumes and joins of live and dead rooms alike are rate_limited, the right token still works', async () => {
    const host = await connect(server.url, from('10.22.0.1'));
    const { code, created } = await roomWith(host, []);
    const guesser = await connect(server.url, from('10.22.0.9'));
    for (let i = 0; i < 20; i++) {
      expect(await call(guesser, 'resume_session', { room_code: ghost(i), participant_id: 'p', resume_token: WRONG(i) })).toMatchObject({ error: { code: 'not_found' } });
    }
    // A hit cannot be told from a miss any more.
    expect(await call(guesser, 'resume_session', { room_code: ghost(21), participant_id: 'p', resume_token: WRONG(0) })).toMatchObject({ error: { code: 'rate_limited' } });
    expect(await call(guesser, 'resume_session', { room_code: code, participant_id: created.participant_id, resume_token: WRONG(0) })).toMatchObject({ error: { code: 'rate_limited' } });
    expect(await call(guesser, 'join_session', { room_code: code, user_name: 'G' })).toMatchObject({ error: { code: 'rate_limited' } });
    host.disconnect();
    const back = await connect(server.url, from('10.22.0.9'));
    expect(await call(back, 'resume_session', { room_code: code, participant_id: created.participant_id, resume_token: created.resume_token })).toMatchObject({ ok: true });
  });
});

describe('seat-carrying handshakes (RATE_CONNECTIONS_PER_MIN = 5)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ RATE_CONNECTIONS_PER_MIN: '5', TRUST_PROXY: 'true' });
  });
  afterAll(() => server.close());

  it('live seats come back past the spent budget; a wrong, unknown or malformed seat is charged and refused', async () => {
    const ip = '10.30.0.1';
    // 4 seats in one room use 4 of the address's 5 connections.
    const seatsOf: Client[] = [];
    for (let i = 0; i < 4; i++) seatsOf.push(await connect(server.url, from(ip)));
    const { code, created, joined } = await roomWith(seatsOf[0]!, seatsOf.slice(1));
    const seats = [created, ...joined].map((r) => ({ room_code: code, participant_id: r.participant_id as string, resume_token: r.resume_token as string }));
    await connect(server.url, from(ip)); // the 5th: budget spent
    await expect(connect(server.url, from(ip))).rejects.toThrow('rate_limited');
    for (const bad of [
      { ...seats[0]!, resume_token: WRONG(0) },
      { ...seats[0]!, room_code: ghost(3) },
      { ...seats[0]!, participant_id: 'nobody' },
      { room_code: code },
      { ...seats[0]!, resume_token: 42 },
    ]) {
      await expect(connect(server.url, from(ip, bad)), JSON.stringify(bad)).rejects.toThrow('rate_limited');
    }
    // All 4 drop at once (their instance died) and come back with their seats in auth.
    for (const s of seatsOf) s.disconnect();
    const back = await Promise.all(seats.map((seat) => connect(server.url, from(ip, seat))));
    const resumed = await Promise.all(back.map((s, i) => call(s, 'resume_session', seats[i])));
    expect(resumed.map((r) => r.ok && r.participant_id)).toEqual(seats.map((s) => s.participant_id));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^focusroom_seat_handshakes_total 4$/m);
  });

  it(`one seat skips the budget at most ${SEAT_RECONNECTS_PER_MIN} times a minute`, async () => {
    const ip = '10.31.0.1';
    const host = await connect(server.url, from(ip));
    const { code, created } = await roomWith(host, []);
    const seat = { room_code: code, participant_id: created.participant_id as string, resume_token: created.resume_token as string };
    // Spend the rest of the address's budget (1 used by the host).
    for (let i = 0; i < 4; i++) (await connect(server.url, from(ip))).disconnect();
    let exempt = 0;
    for (let i = 0; i < SEAT_RECONNECTS_PER_MIN + 3; i++) {
      try {
        (await connect(server.url, from(ip, seat))).disconnect();
        exempt++;
      } catch (err) {
        expect((err as Error).message).toBe('rate_limited');
      }
    }
    expect(exempt).toBe(SEAT_RECONNECTS_PER_MIN);
  });
});

describe('handshake auth fuzz', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ RATE_CONNECTIONS_PER_MIN: '1000000' });
  });
  afterAll(() => server.close());

  it('300 generated auth objects (seat-shaped, wrong types, huge, nested, __proto__) each just connect as ordinary connections; the server stays healthy', async () => {
    const host = await connect(server.url);
    const { code, created } = await roomWith(host, []);
    const str = fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom(code, code.toLowerCase(), ` ${code} `, created.participant_id, created.resume_token, 'x'.repeat(5_000), '__proto__'));
    const auth = fc.oneof(
      fc.record({ room_code: fc.oneof(str, fc.anything()), participant_id: fc.oneof(str, fc.anything()), resume_token: fc.oneof(str, fc.anything()) }, { requiredKeys: [] }),
      fc.dictionary(fc.constantFrom('room_code', 'participant_id', 'resume_token', 'token', '__proto__', 'constructor'), fc.anything(), { maxKeys: 6 }),
      fc.object(),
    );
    let connected = 0;
    await fc.assert(
      fc.asyncProperty(auth, async (a) => {
        const s = await connect(server.url, { auth: a as Record<string, unknown> });
        connected++;
        s.disconnect();
      }),
      { numRuns: 300 },
    );
    expect(connected).toBe(300);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect(await call(host, 'update_status', { status: 'ready' })).toMatchObject({ ok: true });
  }, 60_000);
});
