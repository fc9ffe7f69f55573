/**
 * Rooms in Redis: cluster mode. Each room is one hash (`keys.room(code)`) with
 * `rev` (revision), `id` (the room's id), `data` (the Room as JSON) and, once its history
 * was first trimmed, `hdrop` (the seq of the newest event trimmed away). Its history is a
 * Stream (`keys.events(code)`, entry id = the event's seq). Two indexes per partition sit
 * beside them: the due-queue (sorted set, code → next deadline) and the status index
 * (hash, code → room status) for metrics. Key names and partitions: redis/redis-keys.ts.
 *
 * Every write is one Lua script, so a room, its history and its indexes change together:
 * history and state never disagree. `update` is
 * optimistic: read, apply the pure change in Node, then compare-and-set on `rev` (and
 * `id`, so a room deleted and re-created under the same code is never written with
 * state computed from its predecessor). WATCH/MULTI is avoided on purpose: it is scoped
 * to a connection, and the ioredis connection here is shared by concurrent requests.
 *
 * Every script touches the keys of one partition only, which on Redis Cluster share a
 * hash tag and so one slot (the claim script builds room keys from the partition's room
 * prefix, which carries that tag).
 */
import type { HistoryEvent, RoomHistory, RoomStatus } from '../contract/events.js';
import { LIMITS } from '../contract/limits.js';
import type { Outcome } from '../domain/draft.js';
import { type OutboxEntryType, outboxEntries } from '../domain/outbox-entries.js';
import { expiresAt, nextDeadline } from '../domain/deadlines.js';
import type { Room } from '../domain/room-state.js';
import { emptyStatusCounts, type PreparedChange, type RoomChange, type RoomStore } from './room-store.js';
import { redisCall } from '../redis/redis-call.js';
import { isCluster, type RedisClient, RedisKeys } from '../redis/redis-keys.js';
import { StoreUnavailable } from './store-errors.js';
import { withTimeout } from '../timeout.js';

export interface RedisRoomStoreOptions {
  /** Prepended to every key, so several deployments (or tests) can share one Redis (when `keys` is not given). */
  prefix?: string;
  /** The key layout (prefix and partitions); default: the standalone layout under `prefix`. */
  keys?: RedisKeys;
  /** Entry types to queue in the outbox stream with each write (none: no outbox). */
  outboxTypes?: ReadonlySet<OutboxEntryType>;
  /** Approximate cap of the outbox stream: the memory bound if readers stay away. */
  outboxMaxLen?: number;
}

/** KEYS: room, due, status, events. ARGV: id, data, pexpire ms, deadline, code, status. */
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[4])
redis.call('HSET', KEYS[1], 'rev', 1, 'id', ARGV[1], 'data', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
redis.call('HSET', KEYS[3], ARGV[5], ARGV[6])
return 1`;

/**
 * KEYS: room, due, status, events, outbox. ARGV: [1] expected rev, [2] expected id,
 * [3] code, [4] data ('' = delete), [5] pexpire ms, [6] deadline, [7] status, [8] history
 * size, [9] n = the change's events, then n × (seq, entry JSON), then the outbox's max
 * length and the change's outbox entries (JSON). Returns 1 when written, 0 when the room
 * moved on. The history and the outbox are appended only when the write wins, in the
 * same script: a completed round is queued exactly once.
 */
const COMMIT = `
local cur = redis.call('HMGET', KEYS[1], 'rev', 'id')
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] then return 0 end
local n = tonumber(ARGV[9])
local o = 10 + 2 * n
for i = o + 1, #ARGV do
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[o], '*', 'e', ARGV[i])
end
if ARGV[4] == '' then
  redis.call('DEL', KEYS[1], KEYS[4])
  redis.call('ZREM', KEYS[2], ARGV[3])
  redis.call('HDEL', KEYS[3], ARGV[3])
  return 1
end
redis.call('HSET', KEYS[1], 'data', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'rev', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[7])
if n > 0 then
  for i = 0, n - 1 do
    redis.call('XADD', KEYS[4], ARGV[10 + 2 * i] .. '-0', 'e', ARGV[11 + 2 * i])
  end
  if redis.call('XTRIM', KEYS[4], 'MAXLEN', ARGV[8]) > 0 then
    local first = redis.call('XRANGE', KEYS[4], '-', '+', 'COUNT', 1)[1][1]
    redis.call('HSET', KEYS[1], 'hdrop', tonumber(string.match(first, '^(%d+)')) - 1)
  end
end
redis.call('PEXPIRE', KEYS[4], ARGV[5])
return 1`;

/**
 * KEYS: room, events. ARGV: after seq, limit. Null when the room does not exist; else
 * { hdrop, entries after `after` (oldest first, at most `limit`) }, read in one step.
 */
const HISTORY = `
local dropped = redis.call('HMGET', KEYS[1], 'rev', 'hdrop')
if not dropped[1] then return false end
local entries = redis.call('XRANGE', KEYS[2], (tonumber(ARGV[1]) + 1) .. '-0', '+', 'COUNT', tonumber(ARGV[2]))
return { dropped[2] or '0', entries }`;

/**
 * KEYS: due, status. ARGV: now, limit, lease-until, room key prefix. Claims by pushing
 * the score to the end of the lease, all in one script, so two claimers never get the
 * same code. Entries whose room key expired (the safety-net TTL) are dropped here.
 */
const CLAIM = `
local codes = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local claimed = {}
for _, code in ipairs(codes) do
  if redis.call('EXISTS', ARGV[4] .. code) == 1 then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[3], code)
    claimed[#claimed + 1] = code
  else
    redis.call('ZREM', KEYS[1], code)
    redis.call('HDEL', KEYS[2], code)
  end
end
return claimed`;

/**
 * KEYS: room, events, room, events, ... (one partition's rooms, so one slot on a cluster).
 * Per room: the seq of its newest event (0: none yet), or -1 when the room does not exist.
 */
const LATEST = `
local out = {}
for i = 1, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 0 then
    out[#out + 1] = -1
  else
    local last = redis.call('XREVRANGE', KEYS[i + 1], '+', '-', 'COUNT', 1)
    out[#out + 1] = last[1] and tonumber(string.match(last[1][1], '^(%d+)')) or 0
  end
end
return out`;

/** The scripts as ioredis methods (defineCommand loads them with EVALSHA, EVAL on NOSCRIPT). */
interface ScriptedRedis {
  focusroomCreate(room: string, due: string, status: string, events: string, ...argv: (string | number)[]): Promise<number>;
  focusroomCommit(room: string, due: string, status: string, events: string, outbox: string, ...argv: (string | number)[]): Promise<number>;
  focusroomHistory(room: string, events: string, afterSeq: number, limit: number): Promise<[string, Array<[string, string[]]>] | null>;
  focusroomClaim(due: string, status: string, ...argv: (string | number)[]): Promise<string[]>;
  focusroomLatest(numberOfKeys: number, ...keys: string[]): Promise<number[]>;
}

/** COMMIT's five keys, then its arguments. */
type CommitArgs = [string, string, string, string, string, ...(string | number)[]];

/** A change prepared by this store: the COMMIT it will send, compare-and-set on the revision read. */
class PreparedCommit<T = unknown> implements PreparedChange<T> {
  constructor(
    readonly code: string,
    readonly before: Room,
    readonly outcome: Outcome<T>,
    readonly args: CommitArgs,
  ) {}
}

/** Conflicts are bounded by the number of concurrent writers to one room (≤ 50 seats). */
const MAX_ATTEMPTS = 50;
const PING_TIMEOUT_MS = 1_000;
/** Slack past the room's own expiry before Redis drops an abandoned key on its own. */
const EXPIRY_MARGIN_MS = 60_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class RedisRoomStore implements RoomStore {
  readonly kind = 'redis' as const;
  readonly keys: RedisKeys;
  private readonly scripts: ScriptedRedis;
  private readonly outboxTypes: ReadonlySet<OutboxEntryType>;
  private readonly outboxMaxLen: number;

  /** The connection belongs to the caller: `close()` leaves it open. */
  constructor(
    private readonly redis: RedisClient,
    opts: RedisRoomStoreOptions = {},
  ) {
    this.keys = opts.keys ?? new RedisKeys({ prefix: opts.prefix ?? 'fr:' });
    this.outboxTypes = opts.outboxTypes ?? new Set();
    this.outboxMaxLen = opts.outboxMaxLen ?? 1_000_000;
    // Defining the same script twice on one connection (two stores) just replaces it.
    redis.defineCommand('focusroomCreate', { numberOfKeys: 4, lua: CREATE });
    redis.defineCommand('focusroomCommit', { numberOfKeys: 5, lua: COMMIT });
    redis.defineCommand('focusroomHistory', { numberOfKeys: 2, lua: HISTORY });
    redis.defineCommand('focusroomClaim', { numberOfKeys: 2, lua: CLAIM });
    // Its number of keys varies: given with each call.
    redis.defineCommand('focusroomLatest', { lua: LATEST });
    this.scripts = redis as unknown as ScriptedRedis;
  }

  private roomKey(code: string): string {
    return this.keys.room(code);
  }

  private eventsKey(code: string): string {
    return this.keys.events(code);
  }

  private dueKey(code: string): string {
    return this.keys.due(this.keys.partitionOf(code));
  }

  private statusKey(code: string): string {
    return this.keys.status(this.keys.partitionOf(code));
  }

  async create(room: Room): Promise<boolean> {
    const created = await redisCall(
      this.scripts.focusroomCreate(
        this.roomKey(room.code),
        this.dueKey(room.code),
        this.statusKey(room.code),
        this.eventsKey(room.code),
        room.id,
        JSON.stringify(room),
        safetyTtl(room),
        nextDeadline(room),
        room.code,
        room.status,
      ),
    );
    return created === 1;
  }

  async get(code: string): Promise<Room | null> {
    const data = await redisCall(this.redis.hget(this.roomKey(code), 'data'));
    return data === null ? null : (JSON.parse(data) as Room);
  }

  async update<T>(code: string, change: RoomChange<T>): Promise<Outcome<T> | null> {
    const key = this.roomKey(code);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const [rev, id, data] = await redisCall(this.redis.hmget(key, 'rev', 'id', 'data'));
      if (rev == null || id == null || data == null) return null;
      // A fresh parse per attempt: `change` always sees the state it will be compared against.
      const before = JSON.parse(data) as Room;
      const outcome = change(before);
      if (!outcome.changed) return outcome;
      const written = await redisCall(this.scripts.focusroomCommit(...this.commitArgs(code, rev, id, before, outcome)));
      if (written === 1) return outcome;
      // Someone else wrote first: back off a little, with jitter so the losers spread out.
      await sleep(Math.random() * Math.min(attempt, 10));
    }
    throw new Error(`room ${code}: update gave up after ${MAX_ATTEMPTS} conflicting attempts`);
  }

  async prepare<T>(code: string, change: RoomChange<T>): Promise<PreparedChange<T> | null> {
    const [rev, id, data] = await redisCall(this.redis.hmget(this.roomKey(code), 'rev', 'id', 'data'));
    if (rev == null || id == null || data == null) return null;
    const before = JSON.parse(data) as Room;
    const outcome = change(before);
    if (!outcome.changed) return null;
    return new PreparedCommit(code, before, outcome, this.commitArgs(code, rev, id, before, outcome));
  }

  /**
   * One pipeline per partition (all of a partition's keys share its hash tag, so one
   * slot on a cluster): the COMMIT script per room, compare-and-set on `rev` and `id`.
   */
  async commitPrepared(changes: readonly PreparedChange<unknown>[]): Promise<boolean[]> {
    const out = new Array<boolean>(changes.length).fill(false);
    const byPartition = new Map<number, number[]>();
    changes.forEach((c, i) => {
      if (!(c instanceof PreparedCommit)) throw new Error(`room ${c.code}: not prepared by this store`);
      const p = this.keys.partitionOf(c.code);
      const list = byPartition.get(p);
      if (list) list.push(i);
      else byPartition.set(p, [i]);
    });
    await Promise.all(
      [...byPartition.values()].map(async (indexes) => {
        const pipeline = this.redis.pipeline() as unknown as ScriptedRedis & { exec(): Promise<Array<[Error | null, unknown]> | null> };
        for (const i of indexes) void pipeline.focusroomCommit(...(changes[i] as PreparedCommit).args);
        const replies = await redisCall(pipeline.exec());
        if (!replies) throw new StoreUnavailable('redis: the pipeline was discarded');
        indexes.forEach((i, k) => {
          const [err, written] = replies[k] ?? [null, 0];
          if (err) throw err;
          out[i] = written === 1;
        });
      }),
    );
    return out;
  }

  /** The COMMIT script's keys and arguments for `outcome`, computed from the room read at `rev`. */
  private commitArgs(code: string, rev: string, id: string, before: Room, outcome: Outcome<unknown>): CommitArgs {
    const next = outcome.room;
    const entries: (string | number)[] = [];
    if (next) for (const e of outcome.events) entries.push(e.seq, JSON.stringify({ event: e.event, data: e.data, at: next.updated_at }));
    const outbox = outboxEntries(before, outcome, this.outboxTypes).map((e) => JSON.stringify(e));
    return [
      this.roomKey(code),
      this.dueKey(code),
      this.statusKey(code),
      this.eventsKey(code),
      this.keys.outbox(this.keys.partitionOf(code)),
      rev,
      id,
      code,
      next ? JSON.stringify(next) : '',
      next ? safetyTtl(next) : 0,
      next ? nextDeadline(next) : 0,
      next ? next.status : '',
      LIMITS.roomHistorySize,
      entries.length / 2,
      ...entries,
      this.outboxMaxLen,
      ...outbox,
    ];
  }

  async history(code: string, afterSeq: number, limit: number): Promise<RoomHistory | null> {
    const reply = await redisCall(this.scripts.focusroomHistory(this.roomKey(code), this.eventsKey(code), afterSeq, limit));
    if (!reply) return null;
    const [dropped, entries] = reply;
    const events: HistoryEvent[] = entries.map(([id, fields]) => {
      const entry = JSON.parse(fields[1]!) as Omit<HistoryEvent, 'seq'>;
      return { seq: Number.parseInt(id, 10), event: entry.event, data: entry.data, at: entry.at };
    });
    return { events, complete: afterSeq >= Number(dropped) };
  }

  /**
   * The seq of each room's newest event (null: the room does not exist), one script per
   * partition however many rooms it holds (cluster delivery checks, src/cluster/delivery-check.ts).
   * A partition that cannot be read (its master down) leaves its rooms out of the answer.
   */
  async latestSeqs(codes: readonly string[]): Promise<Map<string, number | null>> {
    const byPartition = new Map<number, string[]>();
    for (const code of codes) {
      const p = this.keys.partitionOf(code);
      const list = byPartition.get(p);
      if (list) list.push(code);
      else byPartition.set(p, [code]);
    }
    const out = new Map<string, number | null>();
    await Promise.all(
      [...byPartition.values()].map(async (part) => {
        const keys = part.flatMap((code) => [this.roomKey(code), this.eventsKey(code)]);
        const seqs = await redisCall(this.scripts.focusroomLatest(keys.length, ...keys)).catch(() => null);
        if (seqs) part.forEach((code, i) => out.set(code, seqs[i]! < 0 ? null : seqs[i]!));
      }),
    );
    return out;
  }

  /**
   * Claims from every partition at once (up to `limit` each: a backlog in one partition
   * is not held back by the others), one script per partition.
   */
  async claimDue(now: number, limit: number, leaseMs: number): Promise<string[]> {
    if (limit <= 0) return [];
    const claim = (p: number) => redisCall(this.scripts.focusroomClaim(this.keys.due(p), this.keys.status(p), now, limit, now + leaseMs, this.keys.roomPrefix(p)));
    const parts = this.keys.partitions;
    if (parts === 1) return claim(0);
    return (await Promise.all(this.keys.all().map(claim))).flat();
  }

  async countByStatus(): Promise<Record<RoomStatus, number>> {
    const counts = emptyStatusCounts();
    const all = await Promise.all(this.keys.all().map((p) => redisCall(this.redis.hvals(this.keys.status(p)))));
    for (const status of all.flat()) {
      if (status in counts) counts[status as RoomStatus] += 1;
    }
    return counts;
  }

  async countRooms(): Promise<number> {
    const all = await Promise.all(this.keys.all().map((p) => redisCall(this.redis.hlen(this.keys.status(p)))));
    return all.reduce((a, b) => a + b, 0);
  }

  /**
   * ioredis queues commands while it reconnects, so a PING to a dead Redis would wait
   * rather than fail: refuse at once when the connection is known to be down, and give
   * up after a second otherwise (a first connect still in progress gets that second).
   * On Redis Cluster every master is pinged: one unreachable master is a share of the
   * rooms unavailable, which /health must report until its replica has taken over.
   */
  async ping(): Promise<'ok' | 'degraded'> {
    const status = this.redis.status;
    if (status === 'reconnecting' || status === 'close' || status === 'end') throw new StoreUnavailable(`redis is not connected (${status})`);
    const redis = this.redis;
    const nodes = isCluster(redis) ? redis.nodes('master') : [redis];
    if (nodes.length === 0) throw new StoreUnavailable('redis cluster: no master known');
    const answers = await Promise.allSettled(nodes.map((node) => withTimeout(redisCall(node.ping()), PING_TIMEOUT_MS, () => new StoreUnavailable(`redis did not answer PING within ${PING_TIMEOUT_MS} ms`))));
    const up = answers.filter((a) => a.status === 'fulfilled').length;
    if (up === 0) {
      const first = answers[0] as PromiseRejectedResult;
      throw first.reason instanceof StoreUnavailable ? first.reason : new StoreUnavailable(String(first.reason));
    }
    return up === nodes.length ? 'ok' : 'degraded';
  }

  /** Nothing to release: the caller created the connection and quits it. */
  async close(): Promise<void> {}
}

/**
 * Key TTL as a safety net only: the scheduler deletes idle rooms at `expiresAt`; this
 * makes sure a room nobody schedules any more (every instance gone) cannot live forever.
 * Never less than `ttl_ms` from this write, so rooms built with a test clock survive too.
 */
function safetyTtl(room: Room): number {
  return Math.max(room.ttl_ms, expiresAt(room) - Date.now()) + EXPIRY_MARGIN_MS;
}
