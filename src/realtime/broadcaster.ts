/**
 * Sends a change's room events to the room, through the Socket.IO adapter (so across
 * instances in cluster mode), each to the audience the contract's event table gives it
 * (contract/event-facts.ts): `host_copy` events go out twice, once to the host's socket and
 * once to the rest, because `is_creator` is relative to the receiver.
 */
import { audienceOf } from '../contract/event-facts.js';
import type { MissedEvent, ServerToClientEvents } from '../contract/events.js';
import type { Clock } from '../domain/clock.js';
import type { Room } from '../domain/room-state.js';
import { snapshot } from '../domain/snapshot.js';
import type { Metrics } from '../metrics.js';
import { roomKey, seatKey, type TypedServer } from './types.js';

export interface PublishOptions {
  /** A socket that must not receive the events (e.g. the one that just left). */
  exceptSocket?: string;
}

type Emit = (event: keyof ServerToClientEvents, payload: object) => void;

/** The socket a participant is attached to right now (null while disconnected). */
const socketOf = (room: Room, participantId: string): string | null =>
  room.participants.find((p) => p.id === participantId)?.socket_id ?? null;

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
      const audience = audienceOf(e.event);
      if (audience === 'host_copy' && room && hostSnapshot && guestSnapshot) {
        // The host's copy goes to the host's own room (types.ts seatKey), the rest to
        // the room except the host's current socket.
        const host = socketOf(room, room.host_id);
        const toGuests = this.io.to(roomKey(code)).except(host ? [...except, host] : except);
        (toGuests.emit.bind(toGuests) as Emit)(e.event, { ...data, session: guestSnapshot });
        if (host && !except.includes(host)) {
          const toHost = this.io.to(seatKey(code, room.host_id)).except(except);
          (toHost.emit.bind(toHost) as Emit)(e.event, { ...data, session: hostSnapshot });
        }
      } else if (audience === 'others') {
        // Fidan sends status updates to the others only; the sender has its ack.
        const sender = room ? socketOf(room, String(e.data.participant_id)) : null;
        const others = this.io.to(roomKey(code)).except(sender ? [...except, sender] : except);
        (others.emit.bind(others) as Emit)(e.event, data);
      } else {
        emit(e.event, data);
      }
    }
  }
}
