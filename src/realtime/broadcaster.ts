/**
 * Sends a change's room events to everyone in the room, through the Socket.IO adapter
 * (so across instances in cluster mode). Snapshot events go out twice, once to the
 * host's socket and once to the rest, because `is_creator` is relative to the receiver.
 */
import { SNAPSHOT_EVENTS, type MissedEvent, type ServerToClientEvents } from '../contract/events.js';
import type { Clock } from '../domain/clock.js';
import type { Room } from '../domain/room-state.js';
import { snapshot } from '../domain/snapshot.js';
import type { Metrics } from '../metrics.js';
import { participantKey, roomKey, type TypedServer } from './types.js';

export interface PublishOptions {
  /** A socket that must not receive the events (e.g. the one that just left). */
  exceptSocket?: string;
}

type Emit = (event: keyof ServerToClientEvents, payload: object) => void;

export class Broadcaster {
  constructor(
    private readonly io: TypedServer,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
  ) {}

  /** `room` is the state after the change (null when it deleted the room). */
  publish(code: string, room: Room | null, events: MissedEvent[], opts: PublishOptions = {}): void {
    const except = opts.exceptSocket ? [opts.exceptSocket] : [];
    const now = this.clock.now();
    const hostSnapshot = room ? snapshot(room, now, room.host_id) : null;
    const guestSnapshot = hostSnapshot ? { ...hostSnapshot, is_creator: false } : null;

    for (const e of events) {
      const data = { ...e.data, seq: e.seq };
      const toRoom = this.io.to(roomKey(code)).except(except);
      const emit = toRoom.emit.bind(toRoom) as Emit;
      this.metrics.eventsOut.inc({ event: e.event });
      if (SNAPSHOT_EVENTS.has(e.event) && room && hostSnapshot && guestSnapshot) {
        const host = participantKey(room.host_id);
        const toGuests = this.io.to(roomKey(code)).except([...except, host]);
        const toHost = this.io.to(host).except(except);
        (toGuests.emit.bind(toGuests) as Emit)(e.event, { ...data, session: guestSnapshot });
        (toHost.emit.bind(toHost) as Emit)(e.event, { ...data, session: hostSnapshot });
      } else if (e.event === 'participant_status_updated') {
        // Fidan sends status updates to the others only; the sender has its ack.
        const others = this.io.to(roomKey(code)).except([...except, participantKey(String(e.data.participant_id))]);
        (others.emit.bind(others) as Emit)(e.event, data);
      } else {
        emit(e.event, data);
      }
    }
  }
}
