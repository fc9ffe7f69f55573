/**
 * The RoomStore contract: one suite, run against the memory store and against Redis in
 * each topology: one redis-server, a Redis Cluster (3 masters, 3 replicas, hash-tag
 * partitions) and a Sentinel set (primary, replica, 3 sentinels), each started once for
 * its block. "Two stores" are two server instances sharing rooms; in memory there is
 * only one process, so both names point at the same store.
 */
import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src/contract/errors.js';
import { LIMITS, ROOM_CODE_ALPHABET } from '../../src/contract/limits.js';
import { pause, start, updateStatus } from '../../src/domain/countdown.js';
import { nextDeadline, runDue } from '../../src/domain/deadlines.js';
import { createRoom, join, leave, type NewParticipant } from '../../src/domain/membership.js';
import type { Room } from '../../src/domain/room-state.js';
import { addTask } from '../../src/domain/tasks.js';
import { MemoryRoomStore } from '../../src/store/memory-room-store.js';
import { type RedisClient, RedisKeys } from '../../src/redis/redis-keys.js';
import { RedisRoomStore } from '../../src/store/redis-room-store.js';
import type { RoomStore } from '../../src/store/room-store.js';
import { StoreUnavailable } from '../../src/store/store-errors.js';
import { freePort } from '../helpers/ports.js';
import { startRedisCluster } from '../helpers/redis-cluster.js';
import { startSentinelSet } from '../helpers/redis-sentinel.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';

const T0 = Date.now();
const TTL = 2 * 60 * 60 * 1000;

const person = (n: number | string): NewParticipant => ({ id: `p-${n}`, user_name: `User ${n}`, token_hash: `hash-${n}`, socket_id: `s-${n}` });

function makeRoom(code: string, opts: { max?: number; duration?: number; id?: string } = {}): Room {
  return createRoom(
    {
      id: opts.id ?? `id-${code}`,
      code,
      host: person('host'),
      settings: { session_duration: opts.duration ?? 60_000, max_participants: opts.max ?? 4, late_join: true, rounds: 1, break_duration: 300_000 },
      grace_ms: 60_000,
      ttl_ms: TTL,
    },
    T0,
  );
}

/** A distinct code per index, in the room-code alphabet. */
const codeFor = (i: number) => `RM${ROOM_CODE_ALPHABET[Math.floor(i / 31) % 31]}${ROOM_CODE_ALPHABET[i % 31]}22`;

interface Backend {
  name: 'memory' | 'redis' | 'redis-cluster' | 'redis-sentinel';
  /** What the store reports as its kind. */
  kind: 'memory' | 'redis';
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** Two stores over one fresh, empty backing store. */
  pair(): Promise<[RoomStore, RoomStore]>;
}

function connect(url: string): Redis {
  const conn = new Redis(url, { maxRetriesPerRequest: 2 });
  // Without a listener ioredis logs every reconnect error; the tests assert on results.
  conn.on('error', () => {});
  return conn;
}

const memory: Backend = {
  name: 'memory',
  kind: 'memory',
  setup: async () => {},
  teardown: async () => {},
  pair: async () => {
    const store = new MemoryRoomStore();
    return [store, store];
  },
};

/** One redis-server for the whole file; every test gets its own key prefix. */
let server: TestRedis;
let prefixes = 0;
const freshPrefix = () => `t${++prefixes}:`;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(() => server?.stop());

/** Hash-tag partitions of the Redis Cluster backend (production's default is 32; fewer keeps a test's keys few). */
const CLUSTER_PARTITIONS = 8;

/**
 * A Redis backend: two connections (two server instances, each with its own socket to
 * Redis) to the file's redis-server, or to a Redis Cluster / Sentinel set that this
 * describe block starts once and stops after it.
 */
function redisBackend(topology: 'standalone' | 'cluster' | 'sentinel'): Backend {
  let conns: [RedisClient, RedisClient];
  let stop = async () => {};
  let partitions = 1;
  const connectTo = async (): Promise<() => RedisClient> => {
    if (topology === 'standalone') return () => connect(server.url);
    if (topology === 'cluster') {
      const cluster = await startRedisCluster();
      stop = () => cluster.stop();
      partitions = CLUSTER_PARTITIONS;
      return () => {
        const conn = new Cluster(cluster.seedNodes, { scaleReads: 'master', redisOptions: { maxRetriesPerRequest: 2 } });
        conn.on('error', () => {});
        return conn;
      };
    }
    const set = await startSentinelSet();
    stop = () => set.stop();
    return () => {
      const conn = new Redis({ sentinels: [...set.sentinels], name: set.name, maxRetriesPerRequest: 2 });
      conn.on('error', () => {});
      return conn;
    };
  };
  return {
    name: topology === 'standalone' ? 'redis' : `redis-${topology}`,
    kind: 'redis',
    async setup() {
      const open = await connectTo();
      conns = [open(), open()];
      // As the server does before it serves (a Cluster client re-creates its node connections once it learns the roles).
      await Promise.all(conns.map((c) => (c.status === 'ready' ? undefined : new Promise((resolve) => c.once('ready', resolve)))));
    },
    async teardown() {
      await Promise.all(conns.map((c) => c.quit()));
      await stop();
    },
    pair: async () => {
      const keys = new RedisKeys({ prefix: freshPrefix(), partitions });
      return [new RedisRoomStore(conns[0], { keys }), new RedisRoomStore(conns[1], { keys })];
    },
  };
}

describe.each([memory, redisBackend('standalone'), redisBackend('cluster'), redisBackend('sentinel')])('RoomStore contract: $name', (backend) => {
  let a: RoomStore;
  let b: RoomStore;

  beforeAll(() => backend.setup(), 60_000);
  afterAll(() => backend.teardown());
  beforeEach(async () => {
    [a, b] = await backend.pair();
  });
  afterEach(async () => {
    await a.close();
    await b.close();
  });

  it('reports its kind and answers ping', async () => {
    expect(a.kind).toBe(backend.kind);
    await expect(a.ping()).resolves.toBe('ok');
  });

  it('creates a room that every instance can read back unchanged', async () => {
    const room = makeRoom('ABC234');
    expect(await a.create(room)).toBe(true);
    expect(await a.get('ABC234')).toEqual(room);
    expect(await b.get('ABC234')).toEqual(room);
    expect(await a.get('ZZZ999')).toBeNull();
  });

  it('refuses a code that is already taken and keeps the first room', async () => {
    const first = makeRoom('ABC234');
    expect(await a.create(first)).toBe(true);
    expect(await b.create(makeRoom('ABC234', { id: 'someone-else' }))).toBe(false);
    expect(await a.get('ABC234')).toEqual(first);
  });

  it('applies a domain change and returns its outcome', async () => {
    await a.create(makeRoom('ABC234'));
    const outcome = await a.update('ABC234', (room) => join(room, person(1), T0 + 10));
    expect(outcome).not.toBeNull();
    expect(outcome!.changed).toBe(true);
    expect(outcome!.events.map((e) => [e.seq, e.event])).toEqual([[2, 'participant_joined']]);
    const stored = await b.get('ABC234');
    expect(stored).toEqual(outcome!.room);
    expect(stored!.participants.map((p) => p.id)).toEqual(['p-host', 'p-1']);
    expect(stored!.seq).toBe(2);
  });

  it('returns an unchanged outcome without writing', async () => {
    const room = makeRoom('ABC234');
    await a.create(room);
    const outcome = await a.update('ABC234', (r) => updateStatus(r, 'p-host', 'ready', T0 + 10));
    expect(outcome!.changed).toBe(false);
    expect(outcome!.result).toEqual({ status: 'ready' });
    expect(await a.get('ABC234')).toEqual(room);
  });

  it('returns null for a missing room without calling the change', async () => {
    let calls = 0;
    const outcome = await a.update('NOPE22', (room) => {
      calls += 1;
      return join(room, person(1), T0);
    });
    expect(outcome).toBeNull();
    expect(calls).toBe(0);
  });

  it('propagates an error thrown by the change and writes nothing', async () => {
    await a.create(makeRoom('ABC234', { max: 2 }));
    await a.update('ABC234', (room) => join(room, person(1), T0 + 1));
    const before = await a.get('ABC234');
    const err = await b.update('ABC234', (room) => join(room, person(2), T0 + 2)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('room_full');
    await expect(a.update('ABC234', () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await a.get('ABC234')).toEqual(before);
  });

  it('deletes the room and its due entry when a change removes it', async () => {
    await a.create(makeRoom('ABC234'));
    const outcome = await b.update('ABC234', (room) => leave(room, 'p-host', 'left', T0 + 5));
    expect(outcome!.changed).toBe(true);
    expect(outcome!.room).toBeNull();
    expect(await a.get('ABC234')).toBeNull();
    expect(await a.claimDue(T0 + 100 * TTL, 10, 1_000)).toEqual([]);
    expect(await a.countByStatus()).toEqual({ waiting: 0, active: 0, paused: 0, completed: 0 });
    expect(await a.update('ABC234', (room) => join(room, person(1), T0 + 6))).toBeNull();
    // The code is free again.
    expect(await b.create(makeRoom('ABC234', { id: 'second' }))).toBe(true);
  });

  it('claims only due rooms, hides a claim for the lease, and offers it again after', async () => {
    await a.create(makeRoom('IDLE22')); // due at T0 + TTL
    await a.create(makeRoom('SHORT2', { duration: 1_000 }));
    await a.create(makeRoom('LONG22', { duration: 5_000 }));
    await a.update('SHORT2', (r) => start(r, 'p-host', T0)); // due at T0 + 1000
    await a.update('LONG22', (r) => start(r, 'p-host', T0)); // due at T0 + 5000

    expect(await a.claimDue(T0 + 999, 10, 500)).toEqual([]);
    expect(await a.claimDue(T0 + 1_000, 10, 500)).toEqual(['SHORT2']);
    expect(await b.claimDue(T0 + 1_200, 10, 500)).toEqual([]); // leased until T0 + 1500
    expect(await b.claimDue(T0 + 1_500, 10, 500)).toEqual(['SHORT2']); // lease over: the claimer died
    expect((await a.claimDue(T0 + 5_000, 10, 500)).sort()).toEqual(['LONG22', 'SHORT2']);
    expect(await a.claimDue(T0 + 6_000, 1, 500)).toHaveLength(1);
  });

  it('reschedules a claimed room at its next deadline once the change is written', async () => {
    await a.create(makeRoom('SHORT2', { duration: 1_000 }));
    await a.update('SHORT2', (r) => start(r, 'p-host', T0));
    expect(await a.claimDue(T0 + 1_000, 10, 60_000)).toEqual(['SHORT2']);
    const outcome = await b.update('SHORT2', (r) => runDue(r, T0 + 1_000));
    expect(outcome!.room!.status).toBe('completed');
    // Not due at the end of the lease any more: the next deadline is the idle expiry.
    expect(await a.claimDue(T0 + 61_000, 10, 60_000)).toEqual([]);
    expect(await a.claimDue(nextDeadline(outcome!.room!), 10, 60_000)).toEqual(['SHORT2']);
  });

  it('commits prepared changes compare-and-set, in one call: one whose room moved on is left unwritten', async () => {
    const codes = ['PRP222', 'PRP223', 'PRP224'];
    for (const code of codes) await a.create(makeRoom(code));
    const prepared = [];
    for (const code of codes) prepared.push((await a.prepare(code, (r) => join(r, person('early'), T0 + 5)))!);
    expect(prepared.map((p) => p.outcome.events.map((e) => e.event))).toEqual(codes.map(() => ['participant_joined']));
    // Nothing is written by preparing; an unchanged or missing room prepares nothing.
    expect((await b.get('PRP222'))!.participants).toHaveLength(1);
    expect(await a.prepare('PRP222', (r) => updateStatus(r, 'p-host', 'ready', T0))).toBeNull();
    expect(await a.prepare('NOPE22', (r) => join(r, person(1), T0))).toBeNull();
    // Another instance changes one of them in between.
    await b.update('PRP223', (r) => join(r, person('other'), T0 + 6));
    expect(await a.commitPrepared(prepared)).toEqual([true, false, true]);
    for (const code of ['PRP222', 'PRP224']) {
      const stored = (await b.get(code))!;
      expect(stored).toEqual(prepared[codes.indexOf(code)]!.outcome.room);
      expect(await b.history(code, 1, 10)).toEqual({ complete: true, events: [expect.objectContaining({ seq: 2, event: 'participant_joined', at: T0 + 5 })] });
    }
    expect((await b.get('PRP223'))!.participants.map((p) => p.id)).toEqual(['p-host', 'p-other']);
    // A prepared change is written at most once.
    expect(await a.commitPrepared([prepared[0]!])).toEqual([false]);
  });

  it('counts live rooms by status', async () => {
    await a.create(makeRoom('WAIT22'));
    await a.create(makeRoom('WAIT33'));
    await a.create(makeRoom('RUN222'));
    await a.create(makeRoom('PAUSE2'));
    await a.update('RUN222', (r) => start(r, 'p-host', T0));
    await a.update('PAUSE2', (r) => start(r, 'p-host', T0));
    await b.update('PAUSE2', (r) => pause(r, 'p-host', T0 + 10));
    expect(await b.countByStatus()).toEqual({ waiting: 2, active: 1, paused: 1, completed: 0 });
    expect(await b.countRooms()).toBe(4);
    await a.update('WAIT33', (r) => leave(r, 'p-host', 'left', T0 + 20));
    expect(await a.countByStatus()).toEqual({ waiting: 1, active: 1, paused: 1, completed: 0 });
    expect(await a.countRooms()).toBe(3);
  });

  it('loses no update when two instances join the same room concurrently', async () => {
    await a.create(makeRoom('BUSY22', { max: 50 }));
    const joins = Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).update('BUSY22', (r) => join(r, person(i), T0 + i)));
    const outcomes = await Promise.all(joins);
    const room = (await a.get('BUSY22'))!;
    expect(room.participants).toHaveLength(41);
    expect(new Set(room.participants.map((p) => p.id)).size).toBe(41);
    expect(room.seq).toBe(41);
    // Every join saw the state left by the one before it: seqs 2..41, each once.
    const seqs = outcomes.map((o) => o!.events[0]!.seq).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 2));
  });

  it('stops exactly at capacity under concurrent joins', async () => {
    await a.create(makeRoom('FULL22', { max: 50 }));
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).update('FULL22', (r) => join(r, person(i), T0 + i))),
    );
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(49);
    expect(rejected).toHaveLength(11);
    for (const r of rejected) expect((r.reason as AppError).code).toBe('room_full');
    expect((await b.get('FULL22'))!.participants).toHaveLength(50);
  });

  it('keeps the room history with the change: oldest first, paged by seq, at = the change time, read alike by every instance', async () => {
    await a.create(makeRoom('HIST22'));
    expect(await b.history('HIST22', 0, 10)).toEqual({ events: [], complete: true });
    await a.update('HIST22', (r) => join(r, person(1), T0 + 5));
    await b.update('HIST22', (r) => addTask(r, 'p-1', 't1', 'one', T0 + 9));
    const all = (await a.history('HIST22', 0, 10))!;
    expect(all).toEqual({
      complete: true,
      events: [
        { seq: 2, event: 'participant_joined', data: expect.objectContaining({ participant: expect.objectContaining({ id: 'p-1' }) }), at: T0 + 5 },
        { seq: 3, event: 'task_added', data: { task: { id: 't1', title: 'one', done: false, created_by: 'p-1', created_at: T0 + 9 } }, at: T0 + 9 },
      ],
    });
    expect(await b.history('HIST22', 0, 10)).toEqual(all);
    expect((await a.history('HIST22', 2, 10))!.events.map((e) => e.seq)).toEqual([3]);
    expect((await a.history('HIST22', 0, 1))!.events.map((e) => e.seq)).toEqual([2]);
    expect(await a.history('HIST22', 3, 10)).toEqual({ events: [], complete: true });
    // A refused change (AppError) and a no-op write nothing to the history either.
    await expect(a.update('HIST22', (r) => addTask(r, 'nobody', 't2', 'x', T0))).rejects.toThrow(AppError);
    await a.update('HIST22', (r) => updateStatus(r, 'p-1', 'ready', T0 + 10));
    expect((await b.history('HIST22', 0, 10))!.events).toHaveLength(2);
    expect(await a.history('NOPE22', 0, 10)).toBeNull();
  });

  it(`trims the history to the last ${LIMITS.roomHistorySize} events, exactly reporting complete: false before them`, async () => {
    await a.create(makeRoom('TRIM22'));
    await a.update('TRIM22', (r) => join(r, person(1), T0));
    await a.update('TRIM22', (r) => start(r, 'p-host', T0));
    const n = LIMITS.roomHistorySize + 5;
    for (let i = 0; i < n; i++) await (i % 2 ? a : b).update('TRIM22', (r) => updateStatus(r, 'p-1', i % 2 ? 'focusing' : 'paused', T0 + i));
    const room = (await a.get('TRIM22'))!;
    const oldest = room.seq - LIMITS.roomHistorySize + 1;
    const kept = (await b.history('TRIM22', oldest - 1, LIMITS.roomHistorySize))!;
    expect(kept.complete).toBe(true);
    expect(kept.events.map((e) => e.seq)).toEqual(Array.from({ length: LIMITS.roomHistorySize }, (_, i) => oldest + i));
    const before = (await a.history('TRIM22', oldest - 2, 2))!;
    expect(before.complete).toBe(false);
    expect(before.events.map((e) => e.seq)).toEqual([oldest, oldest + 1]);
    expect((await a.history('TRIM22', 0, 1))!.complete).toBe(false);
  });

  it('deletes the history with the room, and a room re-created under the code starts an empty one', async () => {
    await a.create(makeRoom('GONE22'));
    await a.update('GONE22', (r) => addTask(r, 'p-host', 't1', 'x', T0));
    await b.update('GONE22', (r) => leave(r, 'p-host', 'left', T0 + 1));
    expect(await a.get('GONE22')).toBeNull();
    expect(await b.history('GONE22', 0, 10)).toBeNull();
    await b.create(makeRoom('GONE22', { id: 'second' }));
    expect(await a.history('GONE22', 0, 10)).toEqual({ events: [], complete: true });
  });

  it('keeps every one of 50 concurrent changes from two instances', async () => {
    await a.create(makeRoom('TASK22'));
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).update('TASK22', (r) => addTask(r, 'p-host', `task-${i}`, `Task ${i}`, T0 + i))),
    );
    const room = (await a.get('TASK22'))!;
    expect(room.tasks.map((t) => t.id).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `task-${i}`).sort());
    expect(room.seq).toBe(51);
    const history = (await b.history('TASK22', 0, 100))!;
    expect(history.complete).toBe(true);
    expect(history.events.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
    // History and state agree: the task events are the tasks.
    expect(history.events.map((e) => (e.data as { task: { id: string } }).task.id).sort()).toEqual(room.tasks.map((t) => t.id).sort());
  });

  it('never hands the same due room to two concurrent claimers', async () => {
    const codes = Array.from({ length: 30 }, (_, i) => codeFor(i));
    for (const code of codes) {
      await a.create(makeRoom(code, { duration: 1_000 }));
      await a.update(code, (r) => start(r, 'p-host', T0));
    }
    const batches = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).claimDue(T0 + 1_000, 5, 30_000)));
    const claimed = batches.flat();
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed.sort()).toEqual([...codes].sort());
  });
});

/** What only the Redis store has: its key layout, conflict retries, and outages. */
describe('RedisRoomStore specifics', () => {
  let conn: Redis;
  let other: Redis;
  let prefix: string;
  let store: RedisRoomStore;

  beforeAll(() => {
    conn = connect(server.url);
    other = connect(server.url);
  });
  afterAll(async () => {
    await Promise.all([conn.quit(), other.quit()]);
  });
  beforeEach(() => {
    prefix = freshPrefix();
    store = new RedisRoomStore(conn, { prefix });
  });

  it('keeps a room as one hash with a revision, a safety TTL, a due entry and a status entry', async () => {
    const room = makeRoom('ABC234');
    await store.create(room);
    const key = `${prefix}room:ABC234`;
    expect(await conn.hget(key, 'rev')).toBe('1');
    expect(JSON.parse((await conn.hget(key, 'data'))!)).toEqual(room);
    expect(await conn.pttl(key)).toBeGreaterThan(TTL);
    expect(Number(await conn.zscore(`${prefix}due`, 'ABC234'))).toBe(nextDeadline(room));
    expect(await conn.hget(`${prefix}status`, 'ABC234')).toBe('waiting');

    await store.update('ABC234', (r) => updateStatus(r, 'p-host', 'ready', T0)); // no-op: no write
    expect(await conn.hget(key, 'rev')).toBe('1');
    const started = await store.update('ABC234', (r) => start(r, 'p-host', T0));
    expect(await conn.hget(key, 'rev')).toBe('2');
    expect(Number(await conn.zscore(`${prefix}due`, 'ABC234'))).toBe(nextDeadline(started!.room!));
    expect(await conn.hget(`${prefix}status`, 'ABC234')).toBe('active');
  });

  it('drops index entries of a room whose key expired', async () => {
    await store.create(makeRoom('ABC234'));
    await conn.del(`${prefix}room:ABC234`); // what the safety-net TTL does to an abandoned room
    expect(await store.claimDue(T0 + 100 * TTL, 10, 1_000)).toEqual([]);
    expect(await conn.zscore(`${prefix}due`, 'ABC234')).toBeNull();
    expect(await store.countByStatus()).toEqual({ waiting: 0, active: 0, paused: 0, completed: 0 });
  });

  /** A store whose first read is followed by `interfere()` before the read returns. */
  function storeWithRaceAfterFirstRead(interfere: () => Promise<void>): RedisRoomStore {
    let fired = false;
    const racy = new Proxy(conn, {
      get(target, prop) {
        if (prop === 'hmget' && !fired) {
          return async (...args: Parameters<Redis['hmget']>) => {
            const read = await target.hmget(...args);
            fired = true;
            await interfere();
            return read;
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    return new RedisRoomStore(racy, { prefix });
  }

  it('retries a change on fresh state when another instance wrote first', async () => {
    const rival = new RedisRoomStore(other, { prefix });
    await store.create(makeRoom('ABC234'));
    let calls = 0;
    const racy = storeWithRaceAfterFirstRead(async () => {
      await rival.update('ABC234', (r) => join(r, person('rival'), T0 + 1));
    });
    const outcome = await racy.update('ABC234', (r) => {
      calls += 1;
      return join(r, person('me'), T0 + 2);
    });
    expect(calls).toBe(2);
    expect(outcome!.events[0]!.seq).toBe(3);
    expect((await store.get('ABC234'))!.participants.map((p) => p.id)).toEqual(['p-host', 'p-rival', 'p-me']);
  });

  it('never applies a change computed on a deleted room to a new room with the same code', async () => {
    const rival = new RedisRoomStore(other, { prefix });
    await store.create(makeRoom('ABC234', { id: 'old' }));
    const racy = storeWithRaceAfterFirstRead(async () => {
      await rival.update('ABC234', (r) => leave(r, 'p-host', 'left', T0 + 1));
      await rival.create(makeRoom('ABC234', { id: 'new' })); // same code, same starting rev
    });
    const seen: string[] = [];
    await racy.update('ABC234', (r) => {
      seen.push(r.id);
      return join(r, person('me'), T0 + 2);
    });
    expect(seen).toEqual(['old', 'new']);
    const room = (await store.get('ABC234'))!;
    expect(room.id).toBe('new');
    expect(room.participants.map((p) => p.id)).toEqual(['p-host', 'p-me']);
  });

  it('close() leaves the caller-owned connection open', async () => {
    await store.close();
    expect(await conn.ping()).toBe('PONG');
  });

  it('reports an unreachable Redis as StoreUnavailable, and passes a real error reply on as it is', async () => {
    const dead = new Redis(`redis://127.0.0.1:${await freePort()}`, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    dead.on('error', () => {});
    const unreachable = new RedisRoomStore(dead, { prefix });
    try {
      await expect(unreachable.get('ABCD22')).rejects.toBeInstanceOf(StoreUnavailable);
      await expect(unreachable.update('ABCD22', (room) => ({ changed: false, room, events: [], result: undefined }))).rejects.toBeInstanceOf(StoreUnavailable);
    } finally {
      dead.disconnect();
    }
    // A key of the wrong type answers WRONGTYPE: a bug, not an outage.
    await conn.set(`${prefix}room:ABCD22`, 'not a hash');
    const wrong = await store.get('ABCD22').catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(Error);
    expect(wrong).not.toBeInstanceOf(StoreUnavailable);
  });

  // Last: it takes the shared server down and brings it back.
  it('ping fails fast while Redis is down and recovers when it is back', async () => {
    await expect(store.ping()).resolves.toBe('ok');
    server.kill();
    const t = Date.now();
    await expect(store.ping()).rejects.toThrow();
    expect(Date.now() - t).toBeLessThan(1_500);
    await server.restart();
    const until = Date.now() + 10_000;
    for (;;) {
      try {
        await store.ping();
        break;
      } catch (e) {
        if (Date.now() > until) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    expect(await conn.ping()).toBe('PONG');
  });
});
