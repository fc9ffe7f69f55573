/**
 * Bad input never hurts anyone else: while a room counts down, other clients send wrong
 * types, missing fields, non-objects, oversized strings, out-of-range numbers, unknown
 * events, extra arguments and a frame over the transport limit. Each bad call gets
 * invalid_payload (ack and event), nothing changes, and the countdown keeps its time.
 */
import { describe, expect, it } from 'vitest';
import { call, callUnchecked, type Client, connect, record, roomWith, waitFor } from '../helpers/client.js';
import { useSharedServer } from '../helpers/server.js';
import { expectAckError, quietWindow } from '../helpers/shapes.js';
import { getJson } from '../helpers/http.js';

const server = useSharedServer();

const NON_OBJECTS: unknown[] = ['string', 42, null, [], [{ user_name: 'x' }], true];

/** [event, payload] pairs that must each be refused with invalid_payload. */
function badCalls(code: string): Array<[string, unknown]> {
  const calls: Array<[string, unknown]> = [];
  for (const event of ['create_session', 'join_session', 'resume_session', 'update_status', 'add_task', 'update_task', 'remove_task', 'update_settings', 'start_session', 'leave_session']) {
    for (const p of NON_OBJECTS) calls.push([event, p]);
  }
  calls.push(
    // wrong types
    ['create_session', { user_name: 12345 }],
    ['create_session', { user_name: 'x', session_duration: '60000' }],
    ['create_session', { user_name: 'x', session_duration: 1500.5 }],
    ['create_session', { user_name: 'x', late_join: 'yes' }],
    ['create_session', { user_name: new Uint8Array(8) }],
    ['join_session', { room_code: 123456, user_name: 'x' }],
    ['join_session', { room_code: code, user_name: { first: 'x' } }],
    ['resume_session', { room_code: code, participant_id: 1, resume_token: 'x' }],
    ['resume_session', { room_code: code, participant_id: 'a', resume_token: 'x', last_seq: -1 }],
    ['update_status', { status: 5 }],
    ['update_status', { status: 'completed' }],
    ['add_task', { title: ['a'] }],
    ['update_task', { task_id: 'a', done: 'true' }],
    // missing fields
    ['join_session', { user_name: 'x' }],
    ['resume_session', { room_code: code }],
    ['update_status', {}],
    ['add_task', {}],
    ['remove_task', {}],
    ['update_task', { task_id: 'a' }],
    ['create_session', {}],
    ['join_session', { room_code: code }],
    // out of range, oversized, unknown keys
    ['create_session', { user_name: 'x', max_participants: 1000 }],
    ['create_session', { user_name: 'x', max_participants: 1 }],
    ['create_session', { user_name: 'x', session_duration: 999 }],
    ['create_session', { user_name: 'x'.repeat(41) }],
    ['create_session', { user_name: 'x'.repeat(10_000) }],
    ['create_session', { user_name: '   ' }],
    ['create_session', { user_name: 'bell\u0007' }],
    ['join_session', { room_code: 'A'.repeat(1_000), user_name: 'x' }],
    ['add_task', { title: 'y'.repeat(201) }],
    ['update_status', { status: 'paused', admin: true }],
    ['start_session', { force: true }],
    ['create_session', { user_name: 'x', __proto__: { admin: true }, constructor: 1 }],
    ['add_task', { title: JSON.parse('[' .repeat(500) + ']'.repeat(500)) }],
    // unknown events
    ['hack', {}],
    ['kick_participant', { participant_id: 'x' }],
    ['toString', {}],
    ['constructor', {}],
    ['hasOwnProperty', {}],
  );
  return calls;
}

type Tick = { time_left_ms: number; ends_at: number; _at: number };

describe('bad input during a running countdown', () => {
  it('every bad call is invalid_payload, nothing changes, ticks stay on time, the server stays up', async () => {
    const [host, guest, seated, stranger] = await Promise.all([connect(server.url), connect(server.url), connect(server.url), connect(server.url)]);
    const { code } = await roomWith(host, [guest, seated], { session_duration: 4_000 });
    const ticks = [record(host, 'time_update'), record(guest, 'time_update')];
    const started = await call(host, 'start_session');
    const endsAt = started.session.ends_at as number;
    const before = JSON.stringify(await server.app.store.get(code));
    const health0 = (await getJson(`${server.url}/health`)).body;

    const attackers: Client[] = [seated, stranger];
    const calls = badCalls(code);
    for (const attacker of attackers) {
      const errors = record(attacker, 'error');
      const joinErrors = record(attacker, 'join_error');
      for (const [event, payload] of calls) {
        const reply = await callUnchecked(attacker, event, payload);
        if (reply.ok || reply.error.code !== 'invalid_payload') throw new Error(`${event} ${JSON.stringify(payload)?.slice(0, 80)} → ${JSON.stringify(reply)}`);
        expectAckError(reply, 'invalid_payload');
      }
      // Extra arguments, with and without an ack.
      const s = attacker.timeout(3_000) as any;
      expectAckError(await s.emitWithAck('update_status', { status: 'paused' }, 'extra'), 'invalid_payload');
      expectAckError(await s.emitWithAck('add_task', { title: 'a' }, { title: 'b' }, 3), 'invalid_payload');
      (attacker as any).emit('update_status', { status: 'paused' }, 'extra');
      const noAckCalls = 1;
      const expectedJoin = calls.filter(([e]) => e === 'join_session').length;
      const expectedError = calls.length - expectedJoin + 2 + noAckCalls;
      await waitFor(attacker, 'error', 2_000, () => errors.length + 1 >= expectedError).catch(() => undefined);
      await quietWindow(100);
      expect(errors).toHaveLength(expectedError);
      expect(joinErrors).toHaveLength(expectedJoin);
      for (const e of errors) expect(e).toEqual({ message: expect.any(String), code: 'invalid_payload', _at: expect.any(Number) });
      for (const e of joinErrors) expect(e).toEqual({ error: expect.any(String), code: 'invalid_payload', _at: expect.any(Number) });
    }
    // Nothing changed: same room, same seq, no new rooms; the seated attacker is still seated.
    expect(JSON.stringify(await server.app.store.get(code))).toBe(before);
    expect((await getJson(`${server.url}/session/${code}`)).body.seq).toBe(started.session.seq);
    expect((await getJson(`${server.url}/health`)).body.sessions).toBe(health0.sessions);
    expect(await call(seated, 'update_status', { status: 'paused' })).toEqual({ ok: true, status: 'paused', seq: expect.any(Number) });
    // Validation comes before any lookup: a stranger's well-formed request is not_in_session,
    // a malformed one invalid_payload.
    expectAckError(await call(stranger, 'update_status', { status: 'paused' }), 'not_in_session');

    // A frame over 16 KB: the transport drops that client; the others are untouched.
    const hog = await connect(server.url);
    const gone = waitFor(hog, 'disconnect', 3_000);
    (hog as any).emit('add_task', { title: 'z'.repeat(20_000) });
    expect(await gone).toBe('transport close');
    expect(host.connected && guest.connected && seated.connected && stranger.connected).toBe(true);

    await Promise.all([waitFor(host, 'session_completed', 5_000), waitFor(guest, 'session_completed', 5_000)]);
    expect(Date.now() - endsAt).toBeLessThanOrEqual(60);
    for (const t of ticks) {
      expect(t.map((x) => x.time_left_ms)).toEqual([3000, 2000, 1000]);
      for (const x of t) {
        expect(x.ends_at).toBe(endsAt);
        const due = endsAt - x.time_left_ms;
        expect(x._at - due, `tick ${x.time_left_ms}`).toBeLessThanOrEqual(50);
        expect(x._at - due).toBeGreaterThanOrEqual(-5);
      }
    }
    const health = await getJson(`${server.url}/health`);
    expect(health.status).toBe(200);
    const fresh = await connect(server.url);
    expect((await call(fresh, 'create_session', { user_name: 'After' })).ok).toBe(true);
  });

  it('a burst of bad calls without waiting for replies is answered and harms nobody', async () => {
    const [host, noisy] = await Promise.all([connect(server.url), connect(server.url)]);
    const { code } = await roomWith(host, [noisy], { session_duration: 2_000 });
    const started = await call(host, 'start_session');
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => callUnchecked(noisy, i % 2 ? 'update_status' : 'add_task', i % 3 ? null : 'x')));
    for (const r of replies) expectAckError(r, 'invalid_payload');
    const tick = await waitFor(host, 'time_update', 1_500);
    expect(tick.time_left_ms).toBe(1000);
    expect(Date.now() - (started.session.ends_at - 1000)).toBeLessThanOrEqual(50);
    expect((await server.app.store.get(code))!.seq).toBe(started.session.seq);
  });
});
