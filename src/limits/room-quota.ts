/**
 * Live rooms per client address and per identity: without a cap, a
 * few addresses booking rooms weeks ahead filled MAX_ROOMS for everyone. Each create
 * records its room under its owners (the creator's address key and, with one, its
 * identity); a create beyond MAX_ROOMS_PER_ADDRESS or MAX_ROOMS_PER_IDENTITY is
 * `rate_limited`. Series occurrences are not counted here (the series' own bounds apply).
 *
 * The count is of rooms still live: a deleted room leaves its owners' sets (memory: when
 * the room is deleted; Redis: an owner at its cap has its set checked against the store
 * and the gone rooms dropped, so an instance that died before forgetting costs nothing).
 * Two creates racing past the check can exceed a cap by the number in flight; the create
 * rate limit bounds that.
 */
import { AppError } from '../contract/errors.js';
import type { RedisClient } from '../redis/redis-keys.js';

export interface RoomOwners {
  /** The creator's address key (limits/client-address.ts). */
  address: string;
  /** The creator's identity (`sub:`/`key:`), or null for an anonymous creator. */
  identity: string | null;
}

export interface RoomQuotaCaps {
  perAddress: number;
  perIdentity: number;
}

/** Sets of room codes by owner key: in memory (one instance) or in Redis (cluster-wide). */
export interface OwnerSets {
  size(owner: string): Promise<number>;
  members(owner: string): Promise<string[]>;
  add(owner: string, code: string): Promise<void>;
  remove(owner: string, codes: string[]): Promise<void>;
  /** A room deleted on this instance leaves every set it is in. */
  forget(code: string): void;
}

export class MemoryOwnerSets implements OwnerSets {
  private readonly byOwner = new Map<string, Set<string>>();
  private readonly byRoom = new Map<string, Set<string>>();

  async size(owner: string): Promise<number> {
    return this.byOwner.get(owner)?.size ?? 0;
  }

  async members(owner: string): Promise<string[]> {
    return [...(this.byOwner.get(owner) ?? [])];
  }

  async add(owner: string, code: string): Promise<void> {
    let set = this.byOwner.get(owner);
    if (!set) this.byOwner.set(owner, (set = new Set()));
    set.add(code);
    let owners = this.byRoom.get(code);
    if (!owners) this.byRoom.set(code, (owners = new Set()));
    owners.add(owner);
  }

  async remove(owner: string, codes: string[]): Promise<void> {
    for (const code of codes) this.drop(owner, code);
  }

  forget(code: string): void {
    for (const owner of this.byRoom.get(code) ?? []) this.drop(owner, code);
    this.byRoom.delete(code);
  }

  private drop(owner: string, code: string): void {
    const set = this.byOwner.get(owner);
    set?.delete(code);
    if (set?.size === 0) this.byOwner.delete(owner);
    const owners = this.byRoom.get(code);
    owners?.delete(owner);
    if (owners?.size === 0) this.byRoom.delete(code);
  }
}

/** Longest a set outlives its last create: past any booking's start + ROOM_TTL_MS. */
const SET_TTL_S = 400 * 24 * 3600;

export class RedisOwnerSets implements OwnerSets {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private key(owner: string): string {
    return `${this.prefix}rq:${owner}`;
  }

  async size(owner: string): Promise<number> {
    return this.redis.scard(this.key(owner));
  }

  async members(owner: string): Promise<string[]> {
    return this.redis.smembers(this.key(owner));
  }

  async add(owner: string, code: string): Promise<void> {
    const key = this.key(owner);
    await this.redis.sadd(key, code);
    await this.redis.expire(key, SET_TTL_S);
  }

  async remove(owner: string, codes: string[]): Promise<void> {
    if (codes.length > 0) await this.redis.srem(this.key(owner), ...codes);
  }

  /** Redis sets are pruned against the store when an owner reaches its cap (see `check`). */
  forget(): void {}
}

export class RoomQuota {
  constructor(
    private readonly sets: OwnerSets,
    private readonly caps: RoomQuotaCaps,
  ) {}

  /**
   * `rate_limited` when an owner already has its cap of live rooms. Only an owner at its
   * cap has its rooms checked (`isLive`, one store read each), so a create below it costs
   * one count per owner.
   */
  async check(owners: RoomOwners, isLive: (code: string) => Promise<boolean>): Promise<void> {
    for (const [key, cap, message] of this.keyed(owners)) {
      if ((await this.sets.size(key)) < cap) continue;
      const codes = await this.sets.members(key);
      const live = await Promise.all(codes.map(isLive));
      const gone = codes.filter((_, i) => !live[i]);
      await this.sets.remove(key, gone);
      if (codes.length - gone.length >= cap) throw new AppError('rate_limited', message);
    }
  }

  /** Counts `code` against its owners. */
  async record(owners: RoomOwners, code: string): Promise<void> {
    for (const [key] of this.keyed(owners)) await this.sets.add(key, code);
  }

  /** The room is gone: it stops counting (memory at once; Redis at the owner's next check). */
  forget(code: string): void {
    this.sets.forget(code);
  }

  private keyed(owners: RoomOwners): Array<[string, number, string]> {
    const out: Array<[string, number, string]> = [
      [`a:${owners.address}`, this.caps.perAddress, 'too many live sessions from your network; end one or try again later'],
    ];
    if (owners.identity) out.push([`i:${owners.identity}`, this.caps.perIdentity, 'too many live sessions for this identity; end one or try again later']);
    return out;
  }
}
