/**
 * Sends a change's room events to the room, through the Socket.IO adapter (so across
 * instances in cluster mode), each to the audience the contract's event table gives it
 * (contract/event-facts.ts): `host_copy` events go out twice, once to the host's socket and
 * once to the rest, because `is_creator` is relative to the receiver. The host's copy skips
 * the adapter when the host's socket is on this instance, and the guests' copy is not sent
 * when no guest is attached: a booked room starting on its own then costs one local write
 * (docs/performance.md, "Scheduled starts").
 */
import { audienceOf } from '../contract/event-facts.js';
import type { MissedEvent, ServerToClientEvents, SessionSnapshot } from '../contract/events.js';
import type { Clock } from '../domain/clock.js';
import type { Room } from '../domain/room-state.js';
import { snapshot } from '../domain/snapshot.js';
import type { PublishOptions } from '../rooms/delivery.js';
import type { Metrics } from '../metrics.js';
import { roomKey, seatKey, type TypedServer } from './types.js';

type Emit = (event: keyof ServerToClientEvents, payload: object) => void;

/** The socket a participant is attached to right now (null while disconnected). */
const socketOf = (room: Room, participantId: string): string | null =>
  room.participants.find((p) => p.id === participantId)?.socket_id ?? null;

/**
 * Whether any seat but the host's may have a socket attached. Only seated sockets join a
 * room's Socket.IO room (seat.ts), each recorded as its seat's `socket_id` and
 * `connected`; a disconnect clears both, a seat booked over REST has neither.
 */
const hasGuestSockets = (room: Room): boolean => room.participants.some((p) => p.id !== room.host_id && (p.connected || Boolean(p.socket_id)));

export class Broadcaster {
  constructor(
    private readonly io: TypedServer,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
  ) {}

  /** `room` is the state after the change (null when it deleted the room). */
  publish(code: string, room: Room | null, events: MissedEvent[], opts: PublishOptions = {}): void {
    const except = opts.exceptSocket ? [opts.exceptSocket] : [];
    // Built once per change, and only if one of its events carries a snapshot.
    let hostSnapshot: SessionSnapshot | null = null;
    const hostView = (r: Room): SessionSnapshot => (hostSnapshot ??= snapshot(r, this.clock.now(), r.host_id));

    for (const e of events) {
      const data = { ...e.data, seq: e.seq };
      this.metrics.eventsOut.inc({ event: e.event });
      const audience = audienceOf(e.event);
      if (audience === 'host_copy' && room) {
        // The host's copy goes to the host's own room (types.ts seatKey), the rest to
        // the room except the host's current socket.
        const host = socketOf(room, room.host_id);
        // A room with nobody but its host attached (a booked room starting on its own)
        // sends no guests' copy: no socket would get it, and in cluster mode it would
        // still cost an encode and an adapter message per start.
        if (hasGuestSockets(room)) {
          const toGuests = this.io.to(roomKey(code)).except(host ? [...except, host] : except);
          (toGuests.emit.bind(toGuests) as Emit)(e.event, { ...data, session: { ...hostView(room), is_creator: false } });
        }
        if (host && !except.includes(host)) {
          // Socket ids are unique across instances: a host attached here needs no adapter
          // message, which in cluster mode every instance would read and decode.
          const via = this.io.sockets.sockets.has(host) ? this.io.local : this.io;
          const toHost = via.to(seatKey(code, room.host_id)).except(except);
          (toHost.emit.bind(toHost) as Emit)(e.event, { ...data, session: hostView(room) });
        }
      } else if (audience === 'others') {
        // Fidan sends status updates to the others only; the sender has its ack.
        const sender = room ? socketOf(room, String(e.data.participant_id)) : null;
        const others = this.io.to(roomKey(code)).except(sender ? [...except, sender] : except);
        (others.emit.bind(others) as Emit)(e.event, data);
      } else {
        const toRoom = this.io.to(roomKey(code)).except(except);
        (toRoom.emit.bind(toRoom) as Emit)(e.event, data);
      }
    }
  }
}
