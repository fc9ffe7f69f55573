/**
 * Presence: which seats this instance's sockets hold, kept where other instances can see
 * it, so the seats of an instance that dies without a word still start their grace.
 * One instance needs none of that (its own disconnects are all there is): `LocalPresence`
 * does nothing. The cluster twin is `RedisPresence` (cluster/redis-presence.ts). The runtime
 * (src/runtime) picks one; a Redis Cluster / Sentinel presence would be a third twin.
 */
import type { RoomService } from '../rooms/room-service.js';
import type { TypedServer } from './types.js';

export interface Presence {
  /** Starts following the seats of `io`'s sockets; call once the adapter is attached. */
  start(io: TypedServer, rooms: RoomService): void;
  /** Stops heartbeating; waits for a check in flight. */
  stop(): Promise<void>;
}

/** Single instance: nothing outlives this process's sockets, so nothing to announce. */
export class LocalPresence implements Presence {
  start(): void {}
  async stop(): Promise<void> {}
}
