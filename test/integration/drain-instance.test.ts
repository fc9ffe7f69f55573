/**
 * Draining one instance of a cluster (self-contained: its own redis-server and two child
 * server processes). 20 rooms with running countdowns: 16 with two clients on instance A
 * and two on instance B, 4 with all their clients on A. A gets SIGTERM: its clients are disconnected with "transport
 * close", reconnect to B (as they would through the load balancer) and resume their seats
 * with their tokens and last seen seq. Nothing is lost: every seat comes back with the same
 * participant, the countdown keeps its ends_at, nobody is dropped from a room, and every
 * client gets `session_completed` exactly once, on time, from B. A exits 0 within the grace.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, type Client, closeAllClients, connect, record } from '../helpers/client.js';
import { LIFTED_ABUSE_BOUNDS } from '../helpers/server.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { type ChildServer, spawnServer } from './security-support.js';

const ROOMS = 20;
const COUNTDOWN_MS = 8_000;
const GRACE_MS = 5_000;

let redis: TestRedis;
let a: ChildServer;
let b: ChildServer;

beforeAll(async () => {
  redis = await startRedis();
  const env = {
    REDIS_URL: redis.url,
    SHUTDOWN_GRACE_MS: String(GRACE_MS),
    DISCONNECT_GRACE_MS: '30000',
    RATE_CONNECTIONS_PER_MIN: '1000000',
    RATE_CREATES_PER_MIN: '1000000',
    RATE_JOIN_FAILURES_PER_MIN: '1000000',
    RATE_SOCKET_EVENTS_PER_SEC: '1000',
    ...LIFTED_ABUSE_BOUNDS,
  };
  [a, b] = await Promise.all([spawnServer({ ...env, INSTANCE_ID: 'drain-a' }), spawnServer({ ...env, INSTANCE_ID: 'drain-b' })]);
});
afterAll(async () => {
  closeAllClients();
  a?.kill();
  b?.kill();
  await redis?.stop();
});

interface Seat {
  client: Client;
  onA: boolean;
  room: string;
  participantId: string;
  token: string;
  lastSeq: number;
  completed: Array<{ _at: number; seq: number }>;
  left: unknown[];
}

/** Follows a client's room events: the highest seq seen, completions, departures. */
function follow(seat: Seat): void {
  const c = seat.client as unknown as { onAny(f: (e: string, p: { seq?: number }) => void): void };
  c.onAny((_e, p) => {
    if (p && typeof p.seq === 'number') seat.lastSeq = Math.max(seat.lastSeq, p.seq);
  });
  seat.completed = record(seat.client, 'session_completed');
  seat.left = record(seat.client, 'participant_left');
}

describe('SIGTERM to one of two instances', () => {
  it('loses no room: clients resume on the other instance and countdowns finish there', async () => {
    const seats: Seat[] = [];
    const endsAt = new Map<string, number>();
    await Promise.all(
      Array.from({ length: ROOMS }, async (_, r) => {
        // Hosts alternate between the instances and most rooms have two clients on each;
        // the last few live entirely on A, so B has never seen them when A goes.
        const placement = r >= ROOMS - 4 ? [true, true, true, true] : r % 2 ? [true, false, true, false] : [false, true, false, true];
        const clients = await Promise.all(placement.map((onA) => connect(onA ? a.url : b.url)));
        const created = await call(clients[0]!, 'create_session', { user_name: `H${r}`, session_duration: COUNTDOWN_MS });
        expect(created.ok).toBe(true);
        const replies = [created];
        for (const [i, g] of clients.slice(1).entries()) {
          const joined = await call(g, 'join_session', { room_code: created.room_code, user_name: `G${r}.${i}` });
          expect(joined.ok).toBe(true);
          replies.push(joined);
        }
        for (const [i, c] of clients.entries()) {
          const seat: Seat = {
            client: c,
            onA: placement[i]!,
            room: created.room_code,
            participantId: replies[i]!.participant_id,
            token: replies[i]!.resume_token,
            lastSeq: replies[i]!.session.seq,
            completed: [],
            left: [],
          };
          follow(seat);
          seats.push(seat);
        }
        const started = await call(clients[0]!, 'start_session');
        expect(started.ok).toBe(true);
        endsAt.set(created.room_code, started.session.ends_at);
      }),
    );
    await new Promise((r) => setTimeout(r, 1_500));

    // A drains. Each of its clients, once dropped, reconnects to B and resumes.
    const resumes: Array<Promise<{ seat: Seat; reply: Record<string, any>; reason: string }>> = [];
    for (const seat of seats.filter((s) => s.onA)) {
      resumes.push(
        new Promise((resolve, reject) => {
          seat.client.once('disconnect', async (reason) => {
            try {
              seat.client = await connect(b.url);
              follow(seat);
              const reply = await call(seat.client, 'resume_session', { room_code: seat.room, participant_id: seat.participantId, resume_token: seat.token, last_seq: seat.lastSeq }, 5_000);
              resolve({ seat, reply, reason });
            } catch (err) {
              reject(err);
            }
          });
        }),
      );
    }
    const signalAt = Date.now();
    a.proc.kill('SIGTERM');
    const resumed = await Promise.all(resumes);
    const resumedMs = Date.now() - signalAt;
    const exit = await a.exited;

    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - signalAt).toBeLessThan(GRACE_MS);
    for (const { seat, reply, reason } of resumed) {
      expect(reason).toBe('transport close');
      expect(reply, JSON.stringify(reply).slice(0, 300)).toMatchObject({ ok: true, resumed: true, participant_id: seat.participantId });
      expect(reply.session.status).toBe('active');
      expect(reply.session.ends_at).toBe(endsAt.get(seat.room));
      expect(reply.session.participants).toHaveLength(4);
      expect(reply.session.participants.find((p: { id: string }) => p.id === seat.participantId).status).toBe('focusing');
    }

    // Every countdown completes once, on time, for all four clients of every room, from B.
    const lastEnd = Math.max(...endsAt.values());
    await new Promise((r) => setTimeout(r, Math.max(0, lastEnd - Date.now()) + 1_000));
    const lateness: number[] = [];
    for (const seat of seats) {
      expect(seat.completed, `room ${seat.room}`).toHaveLength(1);
      lateness.push(seat.completed[0]!._at - endsAt.get(seat.room)!);
      expect(seat.left).toEqual([]);
    }
    lateness.sort((x, y) => x - y);
    console.log(
      `drain: ${resumed.length} clients of the drained instance resumed on the other within ${resumedMs} ms; instance exited ${exit.at - signalAt} ms after SIGTERM; ` +
        `completion lateness p50 ${lateness[lateness.length >> 1]} ms, max ${lateness.at(-1)} ms`,
    );
    expect(lateness[0]!).toBeGreaterThanOrEqual(-5);
    expect(lateness.at(-1)!).toBeLessThan(1_000);
    expect((await fetch(`${b.url}/health`)).status).toBe(200);
  }, 30_000);
});
