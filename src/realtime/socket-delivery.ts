/**
 * The room service's delivery (rooms/delivery.ts) over Socket.IO: events through the
 * broadcaster (the adapter, so every instance), ticks through the local ticker.
 */
import type { MissedEvent } from '../contract/events.js';
import type { Room } from '../domain/room-state.js';
import type { RoomTimer } from '../domain/snapshot.js';
import type { PreparedDelivery, PublishOptions, RoomDelivery } from '../rooms/delivery.js';
import type { Broadcaster, PreparedPublish } from './broadcaster.js';
import type { Ticker } from './ticker.js';
import { roomKey, type TypedServer } from './types.js';

export class SocketDelivery implements RoomDelivery {
  constructor(
    private readonly io: TypedServer,
    private readonly broadcaster: Broadcaster,
    private readonly ticker: Ticker,
  ) {}

  publish(code: string, room: Room | null, events: MissedEvent[], opts: PublishOptions): void {
    this.broadcaster.publish(code, room, events, opts);
  }

  prepare(code: string, room: Room | null, events: MissedEvent[], at: number): PreparedDelivery {
    return this.broadcaster.prepare(code, room, events, at);
  }

  publishPrepared(prepared: PreparedDelivery): void {
    this.broadcaster.publishPrepared(prepared as PreparedPublish);
  }

  syncTimer(timer: RoomTimer): void {
    this.ticker.sync(timer);
  }

  close(code: string): void {
    this.ticker.stop(code);
    this.io.in(roomKey(code)).socketsLeave(roomKey(code));
  }
}
