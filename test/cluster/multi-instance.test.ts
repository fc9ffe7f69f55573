/**
 * Three instances in this process sharing real Redis, on each topology (one server, a
 * 6-node Redis Cluster, a Sentinel set) (docs/scaling.md, "How it works"):
 * a room created on one instance is served by all of them, broadcasts cross instances,
 * every instance ticks its own sockets from the same `ends_at`, and completion happens
 * exactly once although three schedulers watch the same due-queue.
 */
import { describe, expect, it } from 'vitest';
import { call, type Client, connect, eventually, record, waitFor } from '../helpers/client.js';
import { TOPOLOGIES, useCluster } from '../helpers/cluster.js';
import { getJson } from '../helpers/http.js';
import { setTimeout as sleep } from 'node:timers/promises';

describe.each(TOPOLOGIES)('on Redis %s', (topology) => {
  const { servers } = useCluster({ ids: ['inst-a', 'inst-b', 'inst-c'], prefix: 'mi:', topology, env: { DISCONNECT_GRACE_MS: '10000' } });

  const [A, B, C] = [0, 1, 2] as const;
  const url = (i: number) => servers[i]!.url;

  /** Host on A, guests on B and C. */
  async function roomAcross(create: Record<string, unknown> = {}) {
    const [host, guestB, guestC] = await Promise.all([connect(url(A)), connect(url(B)), connect(url(C))]);
    const created = await call(host, 'create_session', { user_name: 'Host', max_participants: 6, ...create });
    expect(created.ok).toBe(true);
    const code = created.room_code as string;
    const hostSeesB = waitFor(host, 'participant_joined');
    const joinedB = await call(guestB, 'join_session', { room_code: code.toLowerCase(), user_name: 'Bea' });
    expect(joinedB.ok).toBe(true);
    expect((await hostSeesB).participant.user_name).toBe('Bea');
    // Bea's own participant_joined reaches her after her ack (the adapter publishes before
    // it delivers locally), so wait for Cem's by name rather than for the next one.
    const isCem = (p: { participant: { user_name: string } }) => p.participant.user_name === 'Cem';
    const [hostSeesC, bSeesC] = [waitFor(host, 'participant_joined', 3_000, isCem), waitFor(guestB, 'participant_joined', 3_000, isCem)];
    const joinedC = await call(guestC, 'join_session', { room_code: code, user_name: 'Cem' });
    expect(joinedC.ok).toBe(true);
    for (const seen of await Promise.all([hostSeesC, bSeesC])) {
      expect(seen.participant.user_name).toBe('Cem');
      expect(seen.session.participants.map((p: { user_name: string }) => p.user_name)).toEqual(['Host', 'Bea', 'Cem']);
    }
    return { host, guestB, guestC, code, created, joinedB, joinedC };
  }

  describe('three instances, one room', () => {
    it('broadcasts across instances, ticks the same seconds everywhere and completes once per client', async () => {
      const { host, guestB, guestC, code } = await roomAcross({ session_duration: 3_000 });
      const clients: Client[] = [host, guestB, guestC];
      const ticks = clients.map((c) => record(c, 'time_update'));
      const done = clients.map((c) => record(c, 'session_completed'));
      const startedEv = clients.map((c) => waitFor(c, 'session_started'));

      const started = await call(host, 'start_session');
      expect(started.ok).toBe(true);
      const endsAt = started.session.ends_at as number;
      const seen = await Promise.all(startedEv);
      expect(seen.map((s) => s.session.ends_at)).toEqual([endsAt, endsAt, endsAt]);
      expect(seen.map((s) => s.session.is_creator)).toEqual([true, false, false]);

      // A status change on B reaches A and C (not B itself: it has its ack).
      const statusSeen = [waitFor(host, 'participant_status_updated'), waitFor(guestC, 'participant_status_updated')];
      const bStatus = record(guestB, 'participant_status_updated');
      expect((await call(guestB, 'update_status', { status: 'paused' })).ok).toBe(true);
      for (const s of await Promise.all(statusSeen)) expect(s).toMatchObject({ participant_id: expect.any(String), status: 'paused', user_name: 'Bea' });
      expect((await call(guestB, 'update_status', { status: 'focusing' })).ok).toBe(true);

      await Promise.all(clients.map((c) => waitFor(c, 'session_completed', 5_000)));
      // Three schedulers poll the due-queue every 250 ms: a duplicate would show up here.
      await sleep(1_000);

      for (const t of ticks) {
        expect(t.map((x) => x.time_left_ms)).toEqual([2_000, 1_000]);
        expect(t.every((x) => x.ends_at === endsAt)).toBe(true);
      }
      // Each instance ticks on its own, aligned to ends_at: the same second at about the same moment.
      let spread = 0;
      for (const k of [0, 1]) {
        const at = ticks.map((t) => t[k]!._at);
        spread = Math.max(spread, Math.max(...at) - Math.min(...at));
        expect(Math.min(...at)).toBeGreaterThanOrEqual(endsAt - (2 - k) * 1_000 - 5);
      }
      expect(spread).toBeLessThan(150);
      for (const d of done) expect(d).toHaveLength(1);
      const [dh, db, dc] = done.map((d) => d[0]!);
      expect(new Set([dh!.seq, db!.seq, dc!.seq]).size).toBe(1);
      expect(dh!.session.status).toBe('completed');
      expect(dh!.results.map((r: { status: string }) => r.status)).toEqual(['completed', 'completed', 'completed']);
      expect(dh!._at).toBeGreaterThanOrEqual(endsAt - 5);
      expect(bStatus).toHaveLength(0);
      const lateness = Math.max(...done.map((d) => d[0]!._at - endsAt));
      console.log(`[cluster] 3 instances: same tick within ${spread} ms on all of them; completion ${lateness} ms after ends_at, once per client`);

      // Every instance answers for the room, from the shared store.
      const replies = await Promise.all([A, B, C].map((i) => getJson(`${url(i)}/session/${code}`)));
      for (const r of replies) {
        expect(r.status).toBe(200);
        expect(r.body).toMatchObject({ room_code: code, participants: 3, status: 'completed', seq: dh!.seq });
      }
    });

    it('pause and resume on one instance re-align the tickers of the others', async () => {
      const { host, guestB, guestC } = await roomAcross({ session_duration: 60_000 });
      const started = await call(host, 'start_session');
      expect(started.ok).toBe(true);
      await waitFor(guestC, 'time_update', 2_500);

      const ticksB = record(guestB, 'time_update');
      const ticksC = record(guestC, 'time_update');
      const pausedSeen = [waitFor(guestB, 'session_paused'), waitFor(guestC, 'session_paused')];
      const paused = await call(host, 'pause_session');
      expect(paused.ok).toBe(true);
      await Promise.all(pausedSeen);
      const pausedAt = Date.now();
      await sleep(1_600);
      // No tick on B or C after the pause reached them (a tick in flight may precede it).
      expect([...ticksB, ...ticksC].filter((t) => t._at > pausedAt + 50)).toHaveLength(0);

      const resumedSeen = [waitFor(guestB, 'session_resumed'), waitFor(guestC, 'session_resumed')];
      const resumed = await call(host, 'resume_timer');
      expect(resumed.ok).toBe(true);
      const newEndsAt = resumed.session.ends_at as number;
      const left = paused.session.time_left_ms as number;
      for (const r of await Promise.all(resumedSeen)) expect(r.session.ends_at).toBe(newEndsAt);
      const [tb, tc] = await Promise.all([
        waitFor(guestB, 'time_update', 2_500, (t) => t.ends_at === newEndsAt),
        waitFor(guestC, 'time_update', 2_500, (t) => t.ends_at === newEndsAt),
      ]);
      expect(tb.time_left_ms).toBe(tc.time_left_ms);
      expect(tb.time_left_ms).toBeLessThanOrEqual(left);
      expect(tb.time_left_ms % 1_000).toBe(0);
    });

    it('every instance counts the broadcasts its adapter reads (focusroom_adapter_messages_received_total)', async () => {
      const received = async (i: number) => Number(/^focusroom_adapter_messages_received_total (\d+)/m.exec(await (await fetch(`${url(i)}/metrics`)).text())?.[1]);
      const { guestC } = await roomAcross();
      const before = await Promise.all([A, B, C].map(received));
      expect(before.every(Number.isFinite)).toBe(true);
      expect((await call(guestC, 'add_task', { title: 'counted' })).ok).toBe(true);
      // Every instance serves someone in the room: each one's count grows, the sender's own
      // included (the stream, or the room's sharded channel, delivers to it too).
      await eventually(async () => {
        const after = await Promise.all([A, B, C].map(received));
        for (const i of [A, B, C]) expect(after[i]!).toBeGreaterThan(before[i]!);
      });
    });

    it('a booked room with only its host attached starts with no adapter message, and a guest who joins later gets the room broadcasts', async () => {
      const received = async (i: number) => Number(/^focusroom_adapter_messages_received_total (\d+)/m.exec(await (await fetch(`${url(i)}/metrics`)).text())?.[1]);
      const host = await connect(url(A));
      const startsAt = Date.now() + 3_000;
      const created = await call(host, 'create_session', { user_name: 'Host', starts_at: startsAt, session_duration: 60_000 });
      expect(created.ok).toBe(true);
      // The earlier tests' clients leaving (disconnects broadcast to their rooms) must be
      // through first: wait until no instance's count moves for 300 ms.
      let before = await Promise.all([A, B, C].map(received));
      for (let i = 0; i < 6; i++) {
        await sleep(300);
        const now = await Promise.all([A, B, C].map(received));
        if (now.every((n, j) => n === before[j])) break;
        before = now;
      }
      expect(Date.now()).toBeLessThan(startsAt - 200);
      const started = await waitFor(host, 'session_started', 4_000);
      expect(started.session).toMatchObject({ status: 'active', is_creator: true, starts_at: startsAt });
      // The start is one local write on A (the host's copy; no guests' copy with no guest
      // attached): no instance reads an adapter message for it (docs/performance.md).
      await sleep(300);
      expect(await Promise.all([A, B, C].map(received))).toEqual(before);

      // A guest on B: the next change reaches both, across instances as before.
      const guest = await connect(url(B));
      const hostSees = waitFor(host, 'participant_joined');
      expect((await call(guest, 'join_session', { room_code: created.room_code, user_name: 'Bea' })).ok).toBe(true);
      expect((await hostSees).participant.user_name).toBe('Bea');
      const guestSees = waitFor(guest, 'task_added');
      expect((await call(host, 'add_task', { title: 'after the start' })).ok).toBe(true);
      expect((await guestSees).task.title).toBe('after the start');
    });

    it('a guest whose connection drops resumes on another instance with its seat and the events it missed', async () => {
      const { host, guestB, guestC, code, joinedB } = await roomAcross();
      const lastSeq = joinedB.session.seq as number;
      const dropSeen = waitFor(host, 'participant_connection', 3_000, (p) => p.connected === false);
      guestB.disconnect();
      const drop = await dropSeen;
      expect(drop).toMatchObject({ participant_id: joinedB.participant_id, connected: false, grace_ms: 10_000 });

      // Something happens while B is away, from yet another instance.
      expect((await call(guestC, 'add_task', { title: 'write the report' })).ok).toBe(true);

      const back = await connect(url(C));
      const returnSeen = waitFor(host, 'participant_connection', 3_000, (p) => p.connected === true);
      const resumed = await call(back, 'resume_session', {
        room_code: code,
        participant_id: joinedB.participant_id,
        resume_token: joinedB.resume_token,
        last_seq: lastSeq,
      });
      expect(resumed.ok).toBe(true);
      expect(resumed.participant_id).toBe(joinedB.participant_id);
      expect(resumed.session.participants.find((p: { id: string }) => p.id === joinedB.participant_id)).toMatchObject({ connected: true, status: 'ready' });
      // Everything after B's own join: C's join, B's drop, the task; then B's return itself.
      expect(resumed.missed.map((e: { event: string }) => e.event).slice(0, 3)).toEqual(['participant_joined', 'participant_connection', 'task_added']);
      expect(resumed.missed[0].seq).toBe(lastSeq + 1);
      expect(resumed.missed_complete).toBe(true);
      await returnSeen;

      // The resumed seat is live on C: it hears a change made on A.
      const startSeen = waitFor(back, 'session_started');
      expect((await call(host, 'start_session')).ok).toBe(true);
      expect((await startSeen).session.is_creator).toBe(false);
      await eventually(async () => {
        const r = await getJson(`${url(B)}/session/${code}`);
        expect(r.body.status).toBe('active');
      });
    });
  });
});
