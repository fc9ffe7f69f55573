/**
 * Where every key lives in Redis, for one deployment (its prefix) and topology.
 *
 * Standalone and Sentinel (one primary): one partition and the key names focusroom has
 * always used (`fr:room:CODE`, `fr:due`, `fr:outbox`, ...), so an upgrade finds its rooms.
 *
 * Redis Cluster: rooms are spread over `partitions` hash tags. A room's keys (its hash,
 * its history stream) and its partition's indexes (the due-queue, the status index, the
 * outbox stream, the instances' seat lists) all carry the partition's tag, so every Lua
 * script — the compare-and-set that commits a change together with its history, its
 * deadline and its outbox entries — touches one slot and stays one atomic step. A tag
 * per room code (`{CODE}`) would have put the room and its indexes on different nodes
 * and split that step in two (docs/scaling.md, "Key layout").
 *
 * The tags are picked so their slots are evenly spaced over 0–16383 (a naive `{0}`…`{N}`
 * lands wherever CRC16 puts it), so a cluster whose masters own contiguous slot ranges
 * gets a near-equal share of partitions. The partition of a room is CRC16(code) mod N:
 * every instance of a deployment must use the same N (REDIS_PARTITIONS).
 */
import keySlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';

/** A connection to one Redis (standalone, Sentinel) or to a Redis Cluster. */
export type RedisClient = Redis | Cluster;

export function isCluster(client: RedisClient): client is Cluster {
  return (client as Cluster).isCluster === true;
}

export const SLOTS = 16_384;

export interface RedisKeyOptions {
  prefix?: string;
  /** 1 (default): the standalone layout, untagged. More: Redis Cluster partitions. */
  partitions?: number;
}

/** `{…}` tags whose slots sit in `n` equal slot ranges, one tag per range. */
export function balancedTags(n: number): string[] {
  const tags: string[] = [];
  for (let i = 0; i < n; i++) {
    const lo = Math.floor((i * SLOTS) / n);
    const hi = Math.floor(((i + 1) * SLOTS) / n);
    // About n tries per range (CRC16 is uniform enough); bounded so a bug cannot spin.
    let found: string | null = null;
    for (let k = 0; k < 1_000_000 && found === null; k++) {
      const tag = `{p${i}.${k.toString(36)}}`;
      const slot = keySlot(tag);
      if (slot >= lo && slot < hi) found = tag;
    }
    if (found === null) throw new Error(`no hash tag found for slot range ${lo}-${hi}`);
    tags.push(found);
  }
  return tags;
}

export class RedisKeys {
  readonly prefix: string;
  readonly partitions: number;
  /** Per partition: what every key of it starts with (`fr:` standalone, `fr:{p3.x}:` on a cluster). */
  private readonly heads: string[];

  constructor(opts: RedisKeyOptions = {}) {
    this.prefix = opts.prefix ?? 'fr:';
    this.partitions = opts.partitions ?? 1;
    if (!Number.isInteger(this.partitions) || this.partitions < 1) throw new Error(`partitions must be a positive integer, got ${this.partitions}`);
    this.heads = this.partitions === 1 ? [this.prefix] : balancedTags(this.partitions).map((t) => `${this.prefix}${t}:`);
  }

  get clustered(): boolean {
    return this.partitions > 1;
  }

  /** Every partition's number, 0…partitions−1. */
  all(): number[] {
    return this.heads.map((_, i) => i);
  }

  partitionOf(code: string): number {
    return this.partitions === 1 ? 0 : keySlot(code) % this.partitions;
  }

  room(code: string): string {
    return `${this.heads[this.partitionOf(code)]}room:${code}`;
  }

  /** The prefix a room key of partition `p` has before its code (the claim script appends codes). */
  roomPrefix(p: number): string {
    return `${this.heads[p]}room:`;
  }

  /** The room's history stream (standalone: tagged by the code, as it always was). */
  events(code: string): string {
    return this.clustered ? `${this.heads[this.partitionOf(code)]}events:${code}` : `${this.prefix}events:{${code}}`;
  }

  /** Sorted set: code → next deadline. */
  due(p: number): string {
    return `${this.heads[p]}due`;
  }

  /** Hash: code → room status (metrics). */
  status(p: number): string {
    return `${this.heads[p]}status`;
  }

  /** The outbox stream of partition `p` (completed rounds, webhook events). */
  outbox(p: number): string {
    return `${this.heads[p]}outbox`;
  }

  /** Hash: socket id → "code participantId", the seats instance `id` holds in partition `p`. */
  seats(p: number, id: string): string {
    return `${this.heads[p]}seats:${id}`;
  }

  /** The instance registry (sorted set: presence id → last beat), on partition 0's slot. */
  get instances(): string {
    return `${this.heads[0]}instances`;
  }

  /** Tombstone of a reaped instance, beside the registry (one script touches both). */
  reaped(id: string): string {
    return `${this.heads[0]}reaped:${id}`;
  }
}
