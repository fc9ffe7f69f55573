/**
 * Conflict detection in single-instance mode (the in-memory booking index): one identity
 * (JWT `sub`) cannot hold seats in two rooms whose windows overlap; touching windows are
 * fine; a seat stops counting when it leaves; a reschedule re-checks every booked identity.
 */
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { call, connect, waitFor } from '../helpers/client.js';
import { useSharedServer } from '../helpers/server.js';
import { expectAckError } from '../helpers/shapes.js';

const SECRET = 'schedule-conflicts-secret-0123456789';
const server = useSharedServer({ AUTH_JWT_SECRET: SECRET });
const MIN = 60_000;

const tokenFor = (sub: string) =>
  new SignJWT({ sub }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));
const as = async (sub: string) => connect(server.url, { auth: { token: await tokenFor(sub) } });
const soon = (mins: number) => Math.ceil((Date.now() + mins * MIN) / 1000) * 1000;

describe('one identity, overlapping windows', () => {
  it('a second overlapping create or join is time_slot_taken; touching windows are not', async () => {
    const t = soon(60);
    const a1 = await as('alice');
    const room = await call(a1, 'create_session', { user_name: 'Alice', starts_at: t, session_duration: 25 * MIN });
    expect(room.ok).toBe(true);
    const a2 = await as('alice');
    const overlapping = await call(a2, 'create_session', { user_name: 'Alice', starts_at: t + 10 * MIN, session_duration: 25 * MIN });
    expectAckError(overlapping, 'time_slot_taken');
    expect(overlapping.error.message).toContain(room.room_code);
    // Ends exactly when the first starts: no overlap.
    const before = await call(a2, 'create_session', { user_name: 'Alice', starts_at: t - 25 * MIN, session_duration: 25 * MIN });
    expect(before.ok).toBe(true);
    // Someone else's overlapping room: alice cannot join it; bob can.
    const b = await as('bob');
    const bobs = await call(b, 'create_session', { user_name: 'Bob', starts_at: t + 5 * MIN, session_duration: 25 * MIN });
    expect(bobs.ok).toBe(true);
    const a3 = await as('alice');
    expectAckError(await call(a3, 'join_session', { room_code: bobs.room_code, user_name: 'Alice' }), 'time_slot_taken');
    expect((await call(await as('carol'), 'join_session', { room_code: bobs.room_code, user_name: 'Carol' })).ok).toBe(true);
    // Nothing was half-applied: bob's room has bob and carol only.
    expect((await server.app.store.get(bobs.room_code))!.participants.map((p) => p.user_name)).toEqual(['Bob', 'Carol']);
  });

  it('a seat stops counting when it leaves', async () => {
    const t = soon(300);
    const s1 = await as('dave');
    expect((await call(s1, 'create_session', { user_name: 'Dave', starts_at: t })).ok).toBe(true);
    const s2 = await as('dave');
    expectAckError(await call(s2, 'create_session', { user_name: 'Dave', starts_at: t }), 'time_slot_taken');
    expect((await call(s1, 'leave_session')).ok).toBe(true);
    expect((await call(s2, 'create_session', { user_name: 'Dave', starts_at: t })).ok).toBe(true);
  });

  it('rescheduling re-checks every booked identity and is refused if one would collide', async () => {
    const t = soon(600);
    const host = await as('erin');
    const room = await call(host, 'create_session', { user_name: 'Erin', starts_at: t, session_duration: 25 * MIN });
    const guest = await as('frank');
    expect((await call(guest, 'join_session', { room_code: room.room_code, user_name: 'Frank' })).ok).toBe(true);
    // Frank holds another room an hour later.
    const frank2 = await as('frank');
    expect((await call(frank2, 'create_session', { user_name: 'Frank', starts_at: t + 60 * MIN, session_duration: 25 * MIN })).ok).toBe(true);
    const refused = await call(host, 'update_settings', { starts_at: t + 50 * MIN });
    expectAckError(refused, 'time_slot_taken');
    expect((await server.app.store.get(room.room_code))!.starts_at).toBe(t);
    // A longer session that runs into frank's other room is refused as well.
    expectAckError(await call(host, 'update_settings', { session_duration: 4 * 60 * MIN }), 'time_slot_taken');
    // Moving clear of it works, and frees the old slot for both.
    expect((await call(host, 'update_settings', { starts_at: t + 120 * MIN })).ok).toBe(true);
    const erin2 = await as('erin');
    expect((await call(erin2, 'create_session', { user_name: 'Erin', starts_at: t })).ok).toBe(true);
  });

  it('a completed room changes its length without a conflict check (its seats no longer count)', async () => {
    const host = await as('ivan');
    expect((await call(host, 'create_session', { user_name: 'Ivan', session_duration: 1_000 })).ok).toBe(true);
    expect((await call(host, 'start_session')).ok).toBe(true);
    await waitFor(host, 'session_completed', 3_000);
    const changed = await call(host, 'update_settings', { session_duration: 2_000 });
    expect(changed.ok).toBe(true);
    expect(changed.session.session_duration).toBe(2_000);
  });

  it('two identities never conflict with each other', async () => {
    const t = soon(900);
    const g1 = await as('gina');
    const g2 = await as('hank');
    expect((await call(g1, 'create_session', { user_name: 'Gina', starts_at: t })).ok).toBe(true);
    expect((await call(g2, 'create_session', { user_name: 'Hank', starts_at: t })).ok).toBe(true);
  });
});
