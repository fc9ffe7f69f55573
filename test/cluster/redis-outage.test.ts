/**
 * Redis goes away and comes back. Two instances in this process (any unhandled error or
 * rejection from them fails this file, which is stricter than "the process did not
 * exit"). Two kinds of outage:
 *
 * - crash + restart (`kill -9`, then a fresh redis-server on the same port, no
 *   persistence): connections fail at once, so events are refused at once; the restarted
 *   Redis is empty, so rooms from before are gone and their clients are told so;
 * - freeze (`SIGSTOP` / `SIGCONT`: a stalled or partitioned Redis that keeps its TCP
 *   connections and its data): commands hang, so a command timeout bounds every answer;
 *   after the freeze the rooms are all there and deadlines that passed meanwhile run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { call, connect, eventually, record, roomWith, waitFor } from '../helpers/client.js';
import { useCluster } from '../helpers/cluster.js';
import { getJson } from '../helpers/http.js';
import { setTimeout as sleep } from 'node:timers/promises';

const cluster = useCluster({ ids: ['out-a', 'out-b'], prefix: 'ro:', env: { INSTANCE_TIMEOUT_MS: '1000' } });
const servers = cluster.servers;
afterAll(() => {
  try {
    process.kill(cluster.redis.pid, 'SIGCONT'); // in case a freeze test failed midway
  } catch {
    // already gone
  }
});

const [A, B] = [0, 1] as const;
const url = (i: number) => servers[i]!.url;
const health = (i: number) => getJson(`${url(i)}/health`, 3_000);

/** How long `fn` took, in ms, with its result. */
async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = Date.now();
  const result = await fn();
  return [result, Date.now() - t0];
}

async function healthyAgain(): Promise<number> {
  const t0 = Date.now();
  await eventually(async () => {
    for (const i of [A, B]) expect((await health(i)).status).toBe(200);
  }, 10_000, 100);
  return Date.now() - t0;
}

/** A room created now runs end to end across both instances. */
async function fullRoundTrip(): Promise<void> {
  const host = await connect(url(A));
  const guest = await connect(url(B));
  const { code } = await roomWith(host, [guest], { session_duration: 2_000 });
  const ticks = record(guest, 'time_update');
  const started = await call(host, 'start_session');
  expect(started.ok).toBe(true);
  const [dh, dg] = await Promise.all([waitFor(host, 'session_completed', 4_000), waitFor(guest, 'session_completed', 4_000)]);
  expect(dh.session.room_code).toBe(code);
  expect(dg.results).toHaveLength(2);
  expect(ticks.map((t) => t.time_left_ms)).toEqual([1_000]);
}

describe('Redis crash and restart (data lost)', () => {
  it('refuses events at once, turns /health 503, recovers by itself and tells clients of lost rooms', async () => {
    // Before: a running countdown with a guest on the other instance.
    const host = await connect(url(A));
    const guest = await connect(url(B));
    const { code } = await roomWith(host, [guest], { session_duration: 60_000 });
    expect((await call(host, 'start_session')).ok).toBe(true);
    const idle = await connect(url(B));
    const lobby = await connect(url(A));

    cluster.redis.kill();
    const down = Date.now();
    await eventually(async () => {
      for (const i of [A, B]) {
        const h = await health(i);
        expect(h.status).toBe(503);
        expect(h.body).toMatchObject({ status: 'unavailable', redis: 'down' });
      }
    }, 3_000, 50);
    const toUnhealthy = Date.now() - down;

    // Events during the outage: an answer, quickly, both as ack and as the Fidan event.
    const errors = record(guest, 'error');
    const [status, statusMs] = await timed(() => call(guest, 'update_status', { status: 'paused' }));
    expect(status).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    const [created, createMs] = await timed(() => call(lobby, 'create_session', { user_name: 'Late' }));
    expect(created).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    const joinErrors = record(idle, 'join_error');
    const [joined, joinMs] = await timed(() => call(idle, 'join_session', { room_code: code, user_name: 'Late' }));
    expect(joined).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    for (const ms of [statusMs, createMs, joinMs]) expect(ms).toBeLessThan(2_000);
    await eventually(() => {
      expect(errors.map((e) => e.code)).toEqual(['unavailable']);
      expect(joinErrors.map((e) => e.code)).toEqual(['unavailable']);
    });
    expect((await getJson(`${url(A)}/session/${code}`)).status).toBe(503);
    // Ticks never touch Redis: the running countdown keeps counting on both instances.
    await Promise.all([waitFor(host, 'time_update', 1_500), waitFor(guest, 'time_update', 1_500)]);
    // A socket that drops during the outage: its disconnect cannot be recorded (logged).
    idle.disconnect();
    // Broadcasts during the outage (say, of a change committed just before it) are lost,
    // never thrown: an unhandled rejection here would fail this file.
    servers[A]!.app.io.to('r:QQQQQQ').emit('participant_status_updated', { participant_id: 'x', status: 'paused', user_name: 'x', seq: 1 });

    await sleep(Math.max(0, 3_000 - (Date.now() - down)));
    const closedHost = waitFor(host, 'room_closed', 8_000);
    const closedGuest = waitFor(guest, 'room_closed', 8_000);
    await cluster.redis.restart();
    const up = Date.now();
    const toHealthy = await healthyAgain();

    // The restarted Redis is empty (no persistence): the room is gone, and its clients
    // are told so instead of counting down a room that no longer exists.
    const [ch, cg] = await Promise.all([closedHost, closedGuest]);
    expect(ch).toMatchObject({ room_code: code, reason: 'lost' });
    expect(cg).toMatchObject({ room_code: code, reason: 'lost' });
    const toClosed = Date.now() - up;
    const ticksAfter = record(guest, 'time_update');
    expect(await call(guest, 'update_status', { status: 'paused' })).toMatchObject({ ok: false, error: { code: 'not_in_session' } });
    expect((await getJson(`${url(B)}/session/${code}`)).status).toBe(404);
    await sleep(1_200);
    expect(ticksAfter).toHaveLength(0);
    // The seated sockets are free again: the host makes a new room on the same connection.
    expect((await call(host, 'create_session', { user_name: 'Host again' })).ok).toBe(true);

    console.log(
      `[cluster] redis crash: /health 503 after ${toUnhealthy} ms; events answered unavailable in ${statusMs}/${createMs}/${joinMs} ms; ` +
        `/health 200 ${toHealthy} ms after restart; room_closed(lost) ${toClosed} ms after restart`,
    );
    await fullRoundTrip();
  });
});

describe('Redis freeze (data kept)', () => {
  it('answers unavailable within the command timeout, then resumes with every room and runs missed deadlines', async () => {
    const host = await connect(url(A));
    const guest = await connect(url(B));
    const leaver = await connect(url(B));
    const { code, joined } = await roomWith(host, [guest, leaver], { session_duration: 2_000 });
    const connection = record(host, 'participant_connection');
    const started = await call(host, 'start_session');
    expect(started.ok).toBe(true);
    const endsAt = started.session.ends_at as number;
    const done = [record(host, 'session_completed'), record(guest, 'session_completed')];

    process.kill(cluster.redis.pid, 'SIGSTOP');
    const frozenAt = Date.now();
    let taskMs = 0;
    try {
      let task;
      [task, taskMs] = await timed(() => call(guest, 'add_task', { title: 'during the freeze' }, 5_000));
      expect(task).toMatchObject({ ok: false, error: { code: 'unavailable' } });
      expect(taskMs).toBeLessThan(2_000);
      // A client that leaves during the freeze: its disconnect cannot be written now.
      leaver.disconnect();
      await eventually(async () => {
        for (const i of [A, B]) expect(await health(i)).toMatchObject({ status: 503, body: { redis: 'down' } });
      }, 4_000, 100);
      // The countdown ends during the freeze and the freeze outlasts the command timeout:
      // due-queue claims sent meanwhile time out here but still run when Redis wakes,
      // hiding the room from every poll for a lease (5 s). The local timer's own retry
      // must complete it.
      await sleep(Math.max(0, endsAt + 2_000 - Date.now()));
      expect(done[0]).toHaveLength(0);
    } finally {
      process.kill(cluster.redis.pid, 'SIGCONT');
    }
    const thawedAt = Date.now();
    const toHealthy = await healthyAgain();
    // Completion runs as soon as Redis answers, once, with focus counted to ends_at.
    await eventually(() => expect(done.map((d) => d.length)).toEqual([1, 1]), 3_000);
    const late = done[0]![0]!._at - thawedAt;
    expect(late).toBeLessThan(1_500);
    await sleep(800);
    expect(done.map((d) => d.length)).toEqual([1, 1]);
    expect(done[0]![0]!.results.map((r: { focused_ms: number }) => r.focused_ms)).toEqual([2_000, 2_000, 2_000]);
    const snap = await getJson(`${url(B)}/session/${code}`);
    expect(snap.body).toMatchObject({ status: 'completed', participants: 3 });
    // The leaver's disconnect is recorded once Redis answers again (at the latest
    // INSTANCE_TIMEOUT_MS after the leave), so its seat gets its grace like any other.
    const leaverId = joined[1]!.participant_id as string;
    await eventually(() => expect(connection.find((c) => c.participant_id === leaverId)).toMatchObject({ connected: false }), 4_000, 50);
    const leaverRecorded = connection.find((c) => c.participant_id === leaverId)!._at - thawedAt;
    console.log(
      `[cluster] redis freeze ${thawedAt - frozenAt} ms: event answered unavailable in ${taskMs} ms; /health 200 ${toHealthy} ms after thaw; ` +
        `completion ${late} ms after thaw; a disconnect made during the freeze recorded ${leaverRecorded} ms after thaw`,
    );
    await fullRoundTrip();
  });
});
