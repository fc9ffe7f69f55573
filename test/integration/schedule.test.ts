/**
 * Scheduled sessions over the socket (docs/protocol.md "Scheduled sessions"): starts_at/title on create, the
 * scheduled start (once, on time, as start_session), booked seats that outlive their
 * grace, reschedule/unschedule, and validation that creates nothing.
 */
import { describe, expect, it } from 'vitest';
import { updateSettings } from '../../src/domain/countdown.js';
import { call, callUnchecked, connect, eventually, record, roomWith, waitFor } from '../helpers/client.js';
import { useSharedServer } from '../helpers/server.js';
import { expectAckError, expectJoinedPayload, expectSnapshot, quietWindow, withoutOk } from '../helpers/shapes.js';

const GRACE = 300;
const server = useSharedServer({ DISCONNECT_GRACE_MS: String(GRACE) });

/** focusroom_prepared_runs_total by outcome. */
async function preparedRuns(): Promise<Record<'prepared' | 'committed' | 'changed' | 'stale', number>> {
  const counts = { prepared: 0, committed: 0, changed: 0, stale: 0 };
  for (const v of (await server.app.metrics.preparedRuns.get()).values) counts[v.labels.outcome as keyof typeof counts] = v.value;
  return counts;
}

describe('create_session with starts_at and title', () => {
  it('snapshots carry both; absent they are null', async () => {
    const host = await connect(server.url);
    const startsAt = Date.now() + 60_000;
    const created = await call(host, 'create_session', { user_name: 'Host', starts_at: startsAt, title: '  Deep work  ' });
    expectJoinedPayload(withoutOk(created));
    expect(created.session).toMatchObject({ starts_at: startsAt, title: 'Deep work', status: 'waiting' });
    const other = await connect(server.url);
    const plain = await call(other, 'create_session', { user_name: 'Plain' });
    expect(plain.session).toMatchObject({ starts_at: null, title: null });
    const guest = await connect(server.url);
    const joined = await call(guest, 'join_session', { room_code: created.room_code, user_name: 'Guest' });
    expect(joined.session).toMatchObject({ starts_at: startsAt, title: 'Deep work' });
  });

  it('wrong type, past, too far ahead, bad title: invalid_payload and nothing created', async () => {
    const host = await connect(server.url);
    const now = Date.now();
    const before = await server.app.store.countRooms();
    const bad = [
      { starts_at: String(now + 60_000) },
      { starts_at: now + 60_000.5 },
      { starts_at: now - 1_000 },
      { starts_at: now + 31 * 24 * 3_600_000 },
      { starts_at: null },
      { title: '' },
      { title: '   ' },
      { title: 'x'.repeat(81) },
      { title: 'bell\u0007' },
      { title: 42 },
    ];
    for (const extra of bad) {
      expectAckError(await callUnchecked(host, 'create_session', { user_name: 'Host', ...extra }), 'invalid_payload');
    }
    expect(await call(host, 'create_session', { user_name: 'Host', title: '🧑‍💻'.repeat(20) })).toMatchObject({ ok: true });
    expect(await server.app.store.countRooms()).toBe(before + 1);
  });
});

describe('the scheduled start', () => {
  it('fires once, within a second of starts_at, exactly as start_session', async () => {
    const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
    const startsAt = Date.now() + 1_200;
    const { code } = await roomWith(host, [guest], { starts_at: startsAt, session_duration: 60_000 });
    const seenHost = record(host, 'session_started');
    const seenGuest = record(guest, 'session_started');
    const started = await waitFor(guest, 'session_started', 3_000);
    const arrived = Date.now();
    expect(arrived).toBeGreaterThanOrEqual(startsAt);
    expect(arrived - startsAt).toBeLessThan(1_000);
    expectSnapshot(started.session, { status: 'active', room_code: code });
    expect(started.session.started_at).toBeGreaterThanOrEqual(startsAt);
    expect(started.session.ends_at).toBe((started.session.started_at as number) + 60_000);
    expect(started.session.participants.map((p: any) => p.status)).toEqual(['focusing', 'focusing']);
    await quietWindow(600);
    expect(seenHost).toHaveLength(1);
    expect(seenGuest).toHaveLength(1);
    // The host could not start it a second time.
    expectAckError(await call(host, 'start_session'), 'already_started');
  });

  it('is prepared ahead and committed as prepared: both copies anchored at starts_at, time fields as of the send', async () => {
    const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
    const prepared = await preparedRuns();
    const startsAt = Date.now() + 1_200;
    const { code } = await roomWith(host, [guest], { starts_at: startsAt, session_duration: 60_000 });
    // Booked less than the look-ahead before its start: prepared at once (and again if the join came after).
    await eventually(async () => expect((await preparedRuns()).prepared).toBeGreaterThan(prepared.prepared));
    const [toHost, toGuest] = await Promise.all([waitFor(host, 'session_started', 3_000), waitFor(guest, 'session_started', 3_000)]);
    const arrived = Date.now();
    expect((await preparedRuns()).committed).toBe(prepared.committed + 1);
    for (const [msg, creator] of [[toHost, true], [toGuest, false]] as const) {
      expectSnapshot(msg.session, { status: 'active', room_code: code, is_creator: creator });
      expect(msg.session).toMatchObject({ started_at: startsAt, ends_at: startsAt + 60_000 });
      // When it was sent, not when it was prepared.
      expect(msg.session.server_now).toBeGreaterThanOrEqual(startsAt);
      expect(msg.session.server_now).toBeLessThanOrEqual(arrived);
      expect(msg.session.time_left_ms).toBe(startsAt + 60_000 - msg.session.server_now);
    }
    const { is_creator: _h, server_now: _hn, time_left_ms: _hl, ...hostView } = toHost.session;
    const { is_creator: _g, server_now: _gn, time_left_ms: _gl, ...guestView } = toGuest.session;
    expect(hostView).toEqual(guestView);
    expect(toHost.seq).toBe(toGuest.seq);
  });

  it('a room changed after its start was prepared (by another instance) is started from its new state', async () => {
    const host = await connect(server.url);
    const prepared = await preparedRuns();
    const startsAt = Date.now() + 1_500;
    const { code } = await roomWith(host, [], { starts_at: startsAt, session_duration: 60_000 });
    await eventually(async () => expect((await preparedRuns()).prepared).toBe(prepared.prepared + 1));
    // A write this instance did not make (another instance's): the prepared commit must lose.
    await server.app.store.update(code, (room) => updateSettings(room, room.host_id, { max_participants: 3 }, Date.now()));
    const started = await waitFor(host, 'session_started', 3_000);
    expect(started.session).toMatchObject({ max_participants: 3, started_at: startsAt, ends_at: startsAt + 60_000 });
    expect(await preparedRuns()).toMatchObject({ committed: prepared.committed, changed: prepared.changed + 1 });
    const seen = record(host, 'session_started');
    await quietWindow(400);
    expect(seen).toEqual([]);
  });

  it('the host may start early; the schedule then does nothing', async () => {
    const host = await connect(server.url);
    const startsAt = Date.now() + 700;
    await roomWith(host, [], { starts_at: startsAt, session_duration: 60_000 });
    const seen = record(host, 'session_started');
    const early = await call(host, 'start_session');
    expect(early.session.status).toBe('active');
    await quietWindow(startsAt - Date.now() + 500);
    expect(seen).toHaveLength(1);
  });

  it('update_settings { starts_at } reschedules and { starts_at: null } unschedules, as settings_updated', async () => {
    const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
    const first = Date.now() + 800;
    await roomWith(host, [guest], { starts_at: first });
    const later = Date.now() + 60_000;
    const updated = waitFor(guest, 'settings_updated');
    const moved = await call(host, 'update_settings', { starts_at: later });
    expect(moved.session.starts_at).toBe(later);
    expect((await updated).session.starts_at).toBe(later);
    const started = record(guest, 'session_started');
    await quietWindow(first - Date.now() + 400);
    expect(started).toEqual([]);
    const off = await call(host, 'update_settings', { starts_at: null });
    expect(off.session.starts_at).toBeNull();
    expectAckError(await call(host, 'update_settings', { starts_at: Date.now() - 5 }), 'invalid_payload');
    expectAckError(await call(guest, 'update_settings', { starts_at: later }), 'not_host');
    expectAckError(await callUnchecked(host, 'update_settings', { starts_at: 'soon' }), 'invalid_payload');
  });
});

describe('a booking', () => {
  it('keeps a dropped seat past its grace through the start, and resume_session takes it back', async () => {
    const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
    const startsAt = Date.now() + 1_500;
    const { code, joined } = await roomWith(host, [guest], { starts_at: startsAt, session_duration: 3_000 });
    const seat = joined[0]!;
    const left = record(host, 'participant_left');
    guest.disconnect();
    await waitFor(host, 'participant_connection', 2_000, (p: any) => p.connected === false);
    await quietWindow(GRACE * 2);
    expect(left).toEqual([]);
    const room = await server.app.store.get(code);
    expect(room!.participants.find((p) => p.id === seat.participant_id)).toMatchObject({ connected: false });
    // Back before the start, with the same seat.
    const again = await connect(server.url);
    const resumed = await call(again, 'resume_session', { room_code: code, participant_id: seat.participant_id, resume_token: seat.resume_token });
    expect(resumed.ok).toBe(true);
    expect(resumed.participant_id).toBe(seat.participant_id);
    // Dropped again: still kept through the start and its grace, until the no-show
    // grace (capped at the first focus phase, 3 s here) makes it a no_show.
    again.disconnect();
    const left2 = record(host, 'participant_left');
    const noShow = await waitFor(host, 'participant_status_updated', startsAt - Date.now() + 3_000 + 1_500, (p) => p.status === 'no_show');
    expect(noShow).toMatchObject({ participant_id: seat.participant_id });
    expect(Date.now()).toBeGreaterThanOrEqual(startsAt + 3_000 - 5);
    expect(left2).toEqual([]);
  });
});
