/**
 * `kill -9` of the instance that holds the host, mid-countdown. The instances are real
 * processes (`node --import tsx src/server.ts`), so the dead one gets no chance to clean
 * up: no disconnect is recorded, its local timer for the room dies with it. The room's
 * deadline lives in the Redis due-queue, so the survivor completes the countdown; the
 * host reconnects to the survivor and resumes its seat with its token.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call, closeAllClients, connect, eventually, record, waitFor } from '../helpers/client.js';
import { newInstance, newRedis } from '../helpers/cluster.js';
import type { TestRedis } from '../helpers/redis-server.js';
import type { ChildInstance } from '../helpers/process.js';
import { getJson } from '../helpers/http.js';
import { setTimeout as sleep } from 'node:timers/promises';

const GRACE = 4_000;
const INSTANCE_TIMEOUT = 3_000;
let redis: TestRedis;
let one: ChildInstance | undefined;
let two: ChildInstance | undefined;
let three: ChildInstance | undefined;

beforeAll(async () => {
  redis = await newRedis();
  const env = { DISCONNECT_GRACE_MS: String(GRACE), INSTANCE_TIMEOUT_MS: String(INSTANCE_TIMEOUT) };
  [one, two, three] = await Promise.all(['node-1', 'node-2', 'node-3'].map((id) => newInstance({ redisUrl: redis.url, id, env })));
}, 40_000);
afterEach(() => closeAllClients());

describe('kill -9 of the instance holding the host', () => {
  it('nobody touches the room after the kill: the due-queue poll on the survivor completes it once; lost seats time out', async () => {
    // node-2 last armed a local timer for this room at the guest's join (the room's idle
    // expiry), not at ends_at: only the shared due-queue knows when the countdown ends.
    const host = await connect(one!.url);
    const ghost = await connect(one!.url);
    const guest = await connect(two!.url);
    const created = await call(host, 'create_session', { user_name: 'Host', session_duration: 3_000 });
    expect(created.ok).toBe(true);
    const code = created.room_code as string;
    const ghostSeat = await call(ghost, 'join_session', { room_code: code, user_name: 'Ghost' });
    expect(ghostSeat.ok).toBe(true);
    expect((await call(guest, 'join_session', { room_code: code, user_name: 'Guest' })).ok).toBe(true);
    const connection = record(guest, 'participant_connection');
    const guestTicks = record(guest, 'time_update');
    const guestDone = record(guest, 'session_completed');
    const started = await call(host, 'start_session');
    expect(started.ok).toBe(true);
    const endsAt = started.session.ends_at as number;
    await waitFor(guest, 'time_update', 2_000);

    one!.signal('SIGKILL');
    const killedAt = Date.now();
    expect((await one!.exited).signal).toBe('SIGKILL');

    await waitFor(guest, 'session_completed', endsAt - Date.now() + 2_000);
    await sleep(1_000); // a duplicate completion would show up here
    expect(guestDone).toHaveLength(1);
    const lateness = guestDone[0]!._at - endsAt;
    console.log(`[cluster] kill -9, no client action: session_completed ${lateness} ms after ends_at (due-queue poll)`);
    expect(lateness).toBeGreaterThanOrEqual(-5);
    expect(lateness).toBeLessThan(1_000);
    expect(guestTicks.map((t) => t.time_left_ms)).toEqual([2_000, 1_000]);
    // Focus time is counted to ends_at exactly, however late the completion ran.
    expect(guestDone[0]!.results.map((r: { focused_ms: number }) => r.focused_ms)).toEqual([3_000, 3_000, 3_000]);

    // The host comes back after the end, still within grace: seat, role and result kept.
    const back = await connect(two!.url);
    const resumed = await call(back, 'resume_session', { room_code: code, participant_id: created.participant_id, resume_token: created.resume_token });
    expect(resumed.ok).toBe(true);
    expect(resumed.session).toMatchObject({ is_creator: true, host_id: created.participant_id, status: 'completed' });
    expect(resumed.session.participants[0]).toMatchObject({ id: created.participant_id, status: 'completed', connected: true });

    // The ghost never comes back. node-1 recorded no disconnect, but once it has been
    // silent for INSTANCE_TIMEOUT_MS a survivor releases its seats: the ghost drops
    // (grace starts), then leaves with reason timeout.
    const ghostDrop = () => connection.find((p) => p.participant_id === ghostSeat.participant_id);
    await eventually(() => expect(ghostDrop()).toBeDefined(), killedAt + INSTANCE_TIMEOUT + 3_000 - Date.now(), 50);
    const dropped = ghostDrop()!;
    const detectedMs = dropped._at - killedAt;
    expect(dropped).toMatchObject({ connected: false, grace_ms: GRACE });
    // Silence is counted from the last heartbeat, sent up to INSTANCE_TIMEOUT/5 before the kill.
    expect(detectedMs).toBeGreaterThanOrEqual(INSTANCE_TIMEOUT * 0.8 - 50);
    const left = await waitFor(guest, 'participant_left', dropped._at + GRACE + 2_000 - Date.now());
    expect(left).toMatchObject({ participant_id: ghostSeat.participant_id, reason: 'timeout' });
    expect(left.session.participants.map((p: { user_name: string; connected: boolean }) => [p.user_name, p.connected])).toEqual([
      ['Host', true],
      ['Guest', true],
    ]);
    // The host's seat was released too if the release came before its resume; either
    // way its last word is connected: true (a resumed seat is never released again).
    expect(connection.filter((c) => c.participant_id === created.participant_id).at(-1)?.connected ?? true).toBe(true);
    console.log(`[cluster] kill -9: seats of the dead instance released ${detectedMs} ms after the kill (INSTANCE_TIMEOUT_MS ${INSTANCE_TIMEOUT})`);
  });

  it('the survivor completes the countdown once, on time, and the host resumes there', async () => {
    const host = await connect(three!.url);
    const guest = await connect(two!.url);
    const created = await call(host, 'create_session', { user_name: 'Host', session_duration: 3_000 });
    expect(created.ok).toBe(true);
    const code = created.room_code as string;
    expect((await call(guest, 'join_session', { room_code: code, user_name: 'Guest' })).ok).toBe(true);

    const guestTicks = record(guest, 'time_update');
    const guestDone = record(guest, 'session_completed');
    const started = await call(host, 'start_session');
    expect(started.ok).toBe(true);
    const endsAt = started.session.ends_at as number;
    await waitFor(guest, 'time_update', 2_000); // the 2 s tick: about 1 s into the countdown

    const hostDropped = waitFor(host, 'disconnect', 3_000);
    three!.signal('SIGKILL');
    expect((await three!.exited).signal).toBe('SIGKILL');
    await hostDropped;

    // The host's app reconnects to the survivor and resumes with its token.
    const back = await connect(two!.url);
    const hostDone = record(back, 'session_completed');
    const resumed = await call(back, 'resume_session', {
      room_code: code,
      participant_id: created.participant_id,
      resume_token: created.resume_token,
      last_seq: started.session.seq,
    });
    expect(resumed.ok).toBe(true);
    expect(resumed.participant_id).toBe(created.participant_id);
    expect(resumed.session).toMatchObject({ is_creator: true, host_id: created.participant_id, status: 'active', ends_at: endsAt });
    expect(resumed.session.participants[0]).toMatchObject({ id: created.participant_id, status: 'focusing', connected: true });
    expect(Date.now()).toBeLessThan(endsAt); // resumed mid-countdown, well within grace

    await waitFor(guest, 'session_completed', endsAt - Date.now() + 2_000);
    await sleep(1_000); // a duplicate completion would show up here
    expect(guestDone).toHaveLength(1);
    expect(hostDone).toHaveLength(1);
    const lateness = guestDone[0]!._at - endsAt;
    console.log(`[cluster] kill -9, host resumed on the survivor: session_completed ${lateness} ms after ends_at on the survivor`);
    expect(lateness).toBeGreaterThanOrEqual(-5);
    expect(lateness).toBeLessThan(1_000);
    expect(guestDone[0]!.results.map((r: { participant_id: string; status: string }) => [r.participant_id, r.status])).toEqual([
      [created.participant_id, 'completed'],
      [expect.any(String), 'completed'],
    ]);
    // The survivor's ticker kept the guest's seconds going through the kill.
    expect(guestTicks.map((t) => t.time_left_ms)).toEqual([2_000, 1_000]);
    expect(hostDone[0]!.session.is_creator).toBe(true);

    const status = await getJson(`${two!.url}/session/${code}`);
    expect(status.body).toMatchObject({ status: 'completed', participants: 2 });
    // The host can start the next round from the survivor.
    const again = await call(back, 'start_session');
    expect(again.ok).toBe(true);
  });
});
