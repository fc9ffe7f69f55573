/**
 * Clock sync and quiet clients on the wire (docs/protocol.md): `time_sync { t0 }` samples the server clock, and
 * `set_ticks { enabled: false }` makes a socket quiet — no `time_update`, every other
 * event as before — while the rest of its room keeps ticking. A client that never sends
 * set_ticks (a Fidan app) ticks as always.
 */
import { describe, expect, it } from 'vitest';
import { call, callUnchecked, connect, record, roomWith, waitFor } from '../helpers/client.js';
import { useSharedServer } from '../helpers/server.js';

const server = useSharedServer();

describe('time_sync', () => {
  it('echoes t0 with the server clock', async () => {
    const c = await connect(server.url);
    const before = Date.now();
    const res = await call(c, 'time_sync', { t0: 12.5 });
    const after = Date.now();
    expect(Object.keys(res).sort()).toEqual(['ok', 'server_now', 't0']);
    expect(res.ok).toBe(true);
    expect(res.t0).toBe(12.5);
    expect(res.server_now).toBeGreaterThanOrEqual(before);
    expect(res.server_now).toBeLessThanOrEqual(after);
  });

  it('works in a room and changes nothing in it', async () => {
    const host = await connect(server.url);
    const { code } = await roomWith(host, []);
    const seq = await server.seqOf(code);
    expect((await call(host, 'time_sync', { t0: 1 })).ok).toBe(true);
    expect(await server.seqOf(code)).toBe(seq);
  });

  it.each([[{}], [{ t0: '1' }], [{ t0: null }], [{ t0: 1, x: 1 }], [[1]], ['t0']])('refuses %j with invalid_payload', async (payload) => {
    const c = await connect(server.url);
    const errors = record(c, 'error');
    const res = await callUnchecked(c, 'time_sync', payload);
    expect(res).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    await waitFor(c, 'error', 1_000).catch(() => undefined);
    expect(errors.map((e) => e.code)).toEqual(['invalid_payload']);
  });
});

describe('set_ticks', () => {
  it('a quiet socket gets no ticks while the others in its room do, and every other event', async () => {
    const [host, quiet, loud] = await Promise.all([connect(server.url), connect(server.url), connect(server.url)]);
    expect(await call(quiet, 'set_ticks', { enabled: false })).toEqual({ ok: true, enabled: false });
    const { code } = await roomWith(host, [quiet, loud], { session_duration: 3_500 });
    const quietTicks = record(quiet, 'time_update');
    const loudTicks = record(loud, 'time_update');
    const hostTicks = record(host, 'time_update');
    const started = waitFor(quiet, 'session_started');
    const statusSeen = waitFor(quiet, 'participant_status_updated');
    expect((await call(host, 'start_session')).ok).toBe(true);
    expect((await started).session.room_code).toBe(code);
    expect((await call(loud, 'update_status', { status: 'paused' })).ok).toBe(true);
    expect((await statusSeen).status).toBe('paused');
    await waitFor(quiet, 'session_completed', 6_000);
    expect(loudTicks.map((t) => t.time_left_ms)).toEqual([3_000, 2_000, 1_000]);
    expect(hostTicks.map((t) => t.time_left_ms)).toEqual([3_000, 2_000, 1_000]);
    expect(quietTicks).toEqual([]);
  }, 15_000);

  it('a room of quiet sockets only is not ticked; turning ticks back on starts them mid-countdown', async () => {
    const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
    for (const c of [host, guest]) expect((await call(c, 'set_ticks', { enabled: false })).ok).toBe(true);
    await roomWith(host, [guest], { session_duration: 5_500 });
    const hostTicks = record(host, 'time_update');
    const guestTicks = record(guest, 'time_update');
    expect((await call(host, 'start_session')).ok).toBe(true);
    const first = await waitFor(guest, 'time_update', 2_000).catch(() => null);
    expect(first).toBeNull(); // the 5 s and 4 s ticks were due after 0.5 s and 1.5 s
    expect(await call(guest, 'set_ticks', { enabled: true })).toEqual({ ok: true, enabled: true });
    await waitFor(guest, 'session_completed', 5_000);
    expect(guestTicks.map((t) => t.time_left_ms)).toEqual([3_000, 2_000, 1_000]);
    expect(hostTicks).toEqual([]);
  }, 15_000);

  it('quiet mode outlives leaving and rejoining; a client that never sends it ticks', async () => {
    const [host, quiet] = await Promise.all([connect(server.url), connect(server.url)]);
    expect((await call(quiet, 'set_ticks', { enabled: false })).ok).toBe(true);
    const first = await roomWith(host, [quiet]);
    expect((await call(quiet, 'leave_session')).ok).toBe(true);
    expect((await call(quiet, 'join_session', { room_code: first.code, user_name: 'Back' })).ok).toBe(true);
    const quietTicks = record(quiet, 'time_update');
    expect((await call(host, 'update_settings', { session_duration: 2_500 })).ok).toBe(true);
    expect((await call(host, 'start_session')).ok).toBe(true);
    const tick = await waitFor(host, 'time_update', 2_000);
    expect(tick.time_left_ms).toBe(2_000);
    await waitFor(quiet, 'session_completed', 4_000);
    expect(quietTicks).toEqual([]);
  }, 15_000);

  it.each([[{}], [{ enabled: 'false' }], [{ enabled: 0 }], [{ enabled: true, x: 1 }], [null]])('refuses %j with invalid_payload', async (payload) => {
    const c = await connect(server.url);
    const res = await callUnchecked(c, 'set_ticks', payload);
    expect(res).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
  });
});
