/**
 * Cluster-mode outbox: one Redis Stream, `{prefix}outbox`, written by the room store's
 * compare-and-set script (XADD in the same script that completes a round, so the record
 * exists exactly when the completion does). Each reader kind is a consumer group; each
 * instance is a consumer in it. An entry delivered to an instance that dies before its
 * XACK stays pending and is taken over by another instance (XAUTOCLAIM) once it has
 * been idle for `claimIdleMs`.
 *
 * A reader that stops gracefully hands its pending entries back (`handBack`): they are
 * made idle past any claim time and a marker entry (`c` = `claim`) is added, which wakes a
 * reader of the group on another instance to claim them at once.
 *
 * Entries are trimmed once every group has acknowledged them (XTRIM MINID), with an
 * approximate MAXLEN in the script as the memory bound of last resort.
 *
 * Redis Cluster: one such stream per partition (beside the partition's rooms, in the
 * slot their writing script runs in), read together by partitioned-outbox.ts.
 */
import type { RedisClient } from '../redis/redis-keys.js';
import type { OutboxEntry, OutboxEntryType } from '../domain/outbox-entries.js';
import type { Outbox, OutboxGroupStats, OutboxMessage } from './outbox.js';

export interface RedisOutboxOptions {
  key: string;
  /** This instance's consumer name in every group. */
  consumer: string;
  types: ReadonlySet<OutboxEntryType>;
  groups: string[];
  /** An entry pending this long at a consumer is presumed orphaned and claimed. */
  claimIdleMs?: number;
  /** The same per group where it differs (Web Push: its lease, PUSH_LEASE_MS). */
  groupClaimIdleMs?: Partial<Record<string, number>>;
  /**
   * false: never block on the stream (XREADGROUP without BLOCK; `read` returns at once).
   * A Redis Cluster connection serves many keys and must not be held by one reader.
   */
  block?: boolean;
}

const TRIM_EVERY_MS = 5_000;
/** A handed-back entry's idle time: past any group's claim time (XCLAIM IDLE must stay below the epoch). */
const HANDED_BACK_IDLE_MS = 24 * 3600_000;
/** XPENDING rows per call while handing entries back. */
const HAND_BACK_PAGE = 1_000;

type StreamReply = [id: string, fields: string[]][];

/** The stream id's first part is the epoch ms Redis added it at. */
const idTime = (id: string): number => Number(id.split('-')[0]);

/** The entries of a stream reply, and the ids of the hand-back markers in it (with the group each names). */
function toMessages(entries: StreamReply | null | undefined): { messages: OutboxMessage[]; markers: { id: string; group: string }[] } {
  const messages: OutboxMessage[] = [];
  const markers: { id: string; group: string }[] = [];
  for (const [id, fields] of entries ?? []) {
    // A deleted-but-pending entry comes back with null fields: nothing to deliver.
    if (!fields) continue;
    const i = fields.indexOf('e');
    if (i >= 0 && i % 2 === 0) messages.push({ id, entry: JSON.parse(fields[i + 1]!) as OutboxEntry, queuedAt: idTime(id) });
    else if (fields[0] === 'c' && fields[1] === 'claim') markers.push({ id, group: fields[3] ?? '' });
  }
  return { messages, markers };
}

export class RedisOutbox implements Outbox {
  readonly kind = 'redis' as const;
  readonly types: ReadonlySet<OutboxEntryType>;
  private readonly claimIdleMs: number;
  private readonly lastClaim = new Map<string, number>();
  private readonly ready: Map<string, Promise<void>> = new Map();
  private lastTrim = 0;
  /** false: this consumer is known to hold no unacknowledged entry in the group. */
  private readonly ownPending = new Map<string, boolean>();
  /**
   * Per group: this consumer's pending entries deferred by `defer` (id → not before, epoch
   * ms). Local: an instance that dies forgets them, and whoever claims the entries retries
   * them at once, which is what a retry after a crash does anyway.
   */
  private readonly deferred = new Map<string, Map<string, number>>();
  /** Per group: this consumer's pending entries held by its reader (Outbox.hold), never returned by its reads. */
  private readonly held = new Map<string, Set<string>>();
  /** Per group: entries handed out and neither acknowledged, held nor deferred yet. */
  private readonly open = new Map<string, Set<string>>();

  /**
   * `redis` serves the short commands; `blocking` is a connection of its own for
   * XREADGROUP BLOCK (one per reader group, since a blocked connection serves no one else).
   */
  constructor(
    private readonly redis: RedisClient,
    private readonly blocking: Map<string, RedisClient>,
    private readonly opts: RedisOutboxOptions,
  ) {
    this.types = opts.types;
    this.claimIdleMs = opts.claimIdleMs ?? 30_000;
  }

  get key(): string {
    return this.opts.key;
  }

  /** Creates the group (from the stream's start) unless it exists; retried on the next read if Redis is down. */
  private ensureGroup(group: string): Promise<void> {
    let p = this.ready.get(group);
    if (!p) {
      p = this.redis
        .xgroup('CREATE', this.opts.key, group, '0', 'MKSTREAM')
        .then(() => undefined)
        .catch((err: Error) => {
          if (!/BUSYGROUP/.test(err.message)) {
            this.ready.delete(group);
            throw err;
          }
        });
      this.ready.set(group, p);
    }
    return p;
  }

  async read(group: string, count: number, blockMs: number): Promise<OutboxMessage[]> {
    await this.ensureGroup(group);
    const { key, consumer } = this.opts;
    // 1. What this consumer was given and has not acknowledged (a failed batch, retried;
    // after a restart, what the previous process of this consumer left). Skipped once it
    // came back empty and nothing was handed out since: an idle reader then costs one
    // command per poll, which matters with a stream per Redis Cluster partition.
    const later = this.deferred.get(group);
    const held = this.held.get(group);
    if (this.ownPending.get(group) !== false) {
      // Deferred and held entries are pending too: ask for that many more, and leave them out.
      const own = (await this.redis.xreadgroup('GROUP', group, consumer, 'COUNT', count + (later?.size ?? 0) + (held?.size ?? 0), 'STREAMS', key, '0')) as
        | [string, StreamReply][]
        | null;
      const mine = this.due(group, await this.take(group, own?.[0]?.[1])).slice(0, count);
      if (mine.length > 0) return this.handedOut(group, mine);
      if (!later?.size) this.ownPending.set(group, false);
    }
    // 2. What a dead consumer left pending, checked now and then.
    const now = Date.now();
    const idleMs = this.opts.groupClaimIdleMs?.[group] ?? this.claimIdleMs;
    if (now - (this.lastClaim.get(group) ?? 0) >= idleMs / 2) {
      this.lastClaim.set(group, now);
      const claimed = (await this.redis.xautoclaim(key, group, consumer, idleMs, '0-0', 'COUNT', count)) as [string, StreamReply, string[]?];
      const taken = this.due(group, await this.take(group, claimed[1]));
      // More may be claimable (a stopped reader handed back more than one batch): claim again on the next read.
      if (taken.length > 0 && claimed[0] !== '0-0') this.lastClaim.set(group, 0);
      if (taken.length > 0) return this.handedOut(group, taken);
    }
    // 3. New entries, waiting on the group's own connection.
    if (this.opts.block === false) {
      const now = (await this.redis.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'STREAMS', key, '>')) as [string, StreamReply][] | null;
      return this.handedOut(group, await this.take(group, now?.[0]?.[1]));
    }
    const conn = this.blocking.get(group) ?? this.redis;
    const fresh = (await conn.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'BLOCK', Math.max(1, blockMs), 'STREAMS', key, '>')) as
      | [string, StreamReply][]
      | null;
    return this.handedOut(group, await this.take(group, fresh?.[0]?.[1]));
  }

  /**
   * The entries of a read. Hand-back markers are acknowledged here (every group reads them;
   * they carry nothing to deliver), and one naming this group makes the next read claim
   * idle entries at once rather than on the claim's usual period.
   */
  private async take(group: string, reply: StreamReply | null | undefined): Promise<OutboxMessage[]> {
    const { messages, markers } = toMessages(reply);
    if (markers.length > 0) {
      if (markers.some((m) => m.group === group)) this.lastClaim.set(group, 0);
      await this.redis.xack(this.opts.key, group, ...markers.map((m) => m.id));
    }
    return messages;
  }

  /**
   * This reader stops: every entry of `group` pending at this consumer (held, deferred or
   * not yet handled) is made idle past any claim time (XCLAIM … IDLE, JUSTID: the delivery
   * count is left alone), then one marker entry wakes a reader of the group elsewhere,
   * which claims them on its next read instead of after `claimIdleMs`.
   */
  async handBack(group: string): Promise<void> {
    await this.ensureGroup(group);
    const { key, consumer } = this.opts;
    let start = '-';
    let handed = 0;
    for (;;) {
      const rows = (await this.redis.xpending(key, group, start, '+', HAND_BACK_PAGE, consumer)) as [string, string, number, number][];
      if (rows.length === 0) break;
      const ids = rows.map((r) => r[0]);
      await this.redis.xclaim(key, group, consumer, 0, ...ids, 'IDLE', HANDED_BACK_IDLE_MS, 'JUSTID');
      handed += ids.length;
      if (rows.length < HAND_BACK_PAGE) break;
      start = `(${ids[ids.length - 1]!}`;
    }
    this.held.delete(group);
    this.deferred.delete(group);
    this.open.delete(group);
    if (handed > 0) await this.redis.xadd(key, '*', 'c', 'claim', 'g', group);
  }

  /** Hides `ids` (this consumer's pending entries) from `group`'s reads until `until` (epoch ms). */
  defer(group: string, ids: string[], until: number): void {
    let later = this.deferred.get(group);
    if (!later) this.deferred.set(group, (later = new Map()));
    for (const id of ids) later.set(id, until);
    this.settled(group, ids);
  }

  /** `messages` without the held ones and the deferred ones not yet due (the due ones stop being deferred). */
  private due(group: string, messages: OutboxMessage[]): OutboxMessage[] {
    const later = this.deferred.get(group);
    const held = this.held.get(group);
    if (!later?.size && !held?.size) return messages;
    const now = Date.now();
    return messages.filter((m) => {
      if (held?.has(m.id)) return false;
      const at = later?.get(m.id);
      if (at === undefined) return true;
      if (at > now) return false;
      later!.delete(m.id);
      return true;
    });
  }

  /**
   * Deliveries stay pending at this consumer until acknowledged: read them first next time,
   * unless each is acknowledged, held or deferred by then (settled()).
   */
  private handedOut(group: string, messages: OutboxMessage[]): OutboxMessage[] {
    if (messages.length === 0) return messages;
    this.ownPending.set(group, true);
    let open = this.open.get(group);
    if (!open) this.open.set(group, (open = new Set()));
    for (const m of messages) open.add(m.id);
    return messages;
  }

  /** `ids` are acknowledged, held or deferred: once nothing handed out is left, this consumer's own pending entries need no read. */
  private settled(group: string, ids: string[]): void {
    const open = this.open.get(group);
    if (!open) return;
    for (const id of ids) open.delete(id);
    if (open.size === 0 && !this.deferred.get(group)?.size) this.ownPending.set(group, false);
  }

  hold(group: string, ids: string[]): void {
    let held = this.held.get(group);
    if (!held) this.held.set(group, (held = new Set()));
    for (const id of ids) held.add(id);
    this.settled(group, ids);
  }

  release(group: string, ids: string[]): void {
    const held = this.held.get(group);
    if (held) for (const id of ids) held.delete(id);
    if (ids.length > 0) this.ownPending.set(group, true);
  }

  /** Resets the idle time of `ids` (XCLAIM to this consumer, JUSTID), so XAUTOCLAIM elsewhere leaves them. */
  async touch(group: string, ids: string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 1_000) {
      await this.redis.xclaim(this.opts.key, group, this.opts.consumer, 0, ...ids.slice(i, i + 1_000), 'JUSTID');
    }
  }

  async ack(group: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.redis.xack(this.opts.key, group, ...ids);
    const later = this.deferred.get(group);
    if (later?.size) for (const id of ids) later.delete(id);
    const held = this.held.get(group);
    if (held?.size) for (const id of ids) held.delete(id);
    this.settled(group, ids);
    const now = Date.now();
    if (now - this.lastTrim >= TRIM_EVERY_MS) {
      this.lastTrim = now;
      await this.trim().catch(() => {}); // trimming is housekeeping; the next ack tries again
    }
  }

  async stats(group: string): Promise<OutboxGroupStats> {
    await this.ensureGroup(group);
    const { key } = this.opts;
    const groups = (await this.redis.xinfo('GROUPS', key)) as unknown[][];
    const info = groups.map(fieldsOf).find((g) => g.name === group);
    if (!info) return { depth: 0, oldestAgeMs: 0 };
    const pending = Number(info.pending ?? 0);
    const lag = info.lag === null || info.lag === undefined ? 0 : Number(info.lag);
    let oldest: number | null = null;
    if (pending > 0) {
      const summary = (await this.redis.xpending(key, group)) as [number, string | null, string | null, unknown];
      if (summary[1]) oldest = idTime(summary[1]);
    } else if (lag > 0) {
      const next = (await this.redis.xrange(key, `(${String(info['last-delivered-id'])}`, '+', 'COUNT', 1)) as StreamReply;
      if (next[0]) oldest = idTime(next[0][0]);
    }
    return { depth: pending + lag, oldestAgeMs: oldest === null ? 0 : Math.max(0, Date.now() - oldest) };
  }

  /** Drops entries every group has acknowledged. */
  async trim(): Promise<void> {
    const { key } = this.opts;
    const groups = ((await this.redis.xinfo('GROUPS', key)) as unknown[][]).map(fieldsOf);
    if (groups.length < this.opts.groups.length) return; // a group not created yet must see everything
    let floor: string | null = null;
    for (const g of groups) {
      let bound = String(g['last-delivered-id']);
      if (Number(g.pending ?? 0) > 0) {
        const summary = (await this.redis.xpending(key, String(g.name))) as [number, string | null];
        if (summary[1]) bound = summary[1];
      }
      if (floor === null || compareIds(bound, floor) < 0) floor = bound;
    }
    if (floor && floor !== '0-0') await this.redis.xtrim(key, 'MINID', floor);
  }

  /** The stream's MAXLEN bound trims silently; nothing is counted here. */
  dropped(): number {
    return 0;
  }

  async close(): Promise<void> {}
}

function fieldsOf(flat: unknown[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[String(flat[i])] = flat[i + 1];
  return o;
}

function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am !== bm ? am - bm : as - bs;
}
