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
import { snapshot, timeLeft } from '../domain/snapshot.js';
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

/**
 * A change's broadcast built ahead of its send (a booked start, prepared before
 * `starts_at`): the snapshot, and the host's Socket.IO packet encoded with gaps where
 * `time_left_ms` and `server_now` go, so the send costs a concatenation and the writes.
 */
export interface PreparedPublish {
  readonly code: string;
  readonly room: Room | null;
  readonly events: MissedEvent[];
  /** The host's snapshot as of the change (time fields filled in at the send). */
  readonly hostView: SessionSnapshot | null;
  /** Per event index: the host's packet, split around its two time fields (null: sent the ordinary way). */
  readonly hostPackets: Array<PacketTemplate | null>;
}

/** An encoded packet in three pieces: [before time_left_ms, between it and server_now, after server_now]. */
type PacketTemplate = readonly [string, string, string];

/** socket.io-parser's PacketType.EVENT. */
const EVENT_PACKET = 2;

/** Stand-ins for the time fields while encoding a template: no client text can contain them. */
const MARK_LEFT = `\u0000fr-left-${process.pid}-${Math.random().toString(36).slice(2)}`;
const MARK_NOW = `\u0000fr-now-${process.pid}-${Math.random().toString(36).slice(2)}`;

/** A snapshot as of `now`: the prepared one with its time fields filled in. */
const viewAt = (view: SessionSnapshot, room: Room, now: number): SessionSnapshot => ({ ...view, time_left_ms: timeLeft(room, now), server_now: now });

export class Broadcaster {
  constructor(
    private readonly io: TypedServer,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    /**
     * Whether a prepared host packet may be written to this instance's sockets directly
     * (single instance). In cluster mode every room event passes the adapter, whose
     * delivery gate (cluster/delivery-gate.ts) keeps each socket's cursor: there the host's
     * copy is sent the ordinary way, with its prepared snapshot.
     */
    private readonly directWrites = false,
  ) {}

  /** `room` is the state after the change (null when it deleted the room). */
  publish(code: string, room: Room | null, events: MissedEvent[], opts: PublishOptions = {}): void {
    // Built once per change, and only if one of its events carries a snapshot.
    let hostSnapshot: SessionSnapshot | null = null;
    this.send(code, room, events, opts, (r) => (hostSnapshot ??= snapshot(r, this.clock.now(), r.host_id)), null);
  }

  /**
   * Builds, ahead of the send, what `publish` would send for this change: the host's
   * snapshot as of `at`, and the host's packet of each event that carries it, encoded.
   */
  prepare(code: string, room: Room | null, events: MissedEvent[], at: number): PreparedPublish {
    const hostView = room && events.some((e) => audienceOf(e.event) === 'host_copy') ? snapshot(room, at, room.host_id) : null;
    const hostPackets = events.map((e) => {
      if (!hostView || audienceOf(e.event) !== 'host_copy') return null;
      const marked = { ...hostView, time_left_ms: MARK_LEFT, server_now: MARK_NOW };
      const encoded = this.io.encoder.encode({ type: EVENT_PACKET, nsp: '/', data: [e.event, { ...e.data, seq: e.seq, session: marked }] });
      if (encoded.length !== 1 || typeof encoded[0] !== 'string') return null;
      const [head, rest, more] = encoded[0].split(JSON.stringify(MARK_LEFT));
      if (rest === undefined || more !== undefined) return null;
      const [mid, tail, extra] = rest.split(JSON.stringify(MARK_NOW));
      if (tail === undefined || extra !== undefined) return null;
      return [head!, mid!, tail] as const;
    });
    return { code, room, events, hostView, hostPackets };
  }

  /** Sends a prepared change now, exactly as `publish` would (the time fields as of now). */
  publishPrepared(p: PreparedPublish): void {
    const now = this.clock.now();
    let view: SessionSnapshot | null = null;
    this.send(p.code, p.room, p.events, {}, (r) => (view ??= p.hostView ? viewAt(p.hostView, r, now) : snapshot(r, now, r.host_id)), { p, now });
  }

  private send(
    code: string,
    room: Room | null,
    events: MissedEvent[],
    opts: PublishOptions,
    hostView: (r: Room) => SessionSnapshot,
    prepared: { p: PreparedPublish; now: number } | null,
  ): void {
    const except = opts.exceptSocket ? [opts.exceptSocket] : [];
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
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
          const local = this.io.sockets.sockets.has(host);
          const template = prepared?.p.hostPackets[i];
          if (local && template && prepared && this.directWrites) {
            this.writeLocal(seatKey(code, room.host_id), template[0] + timeLeft(room, prepared.now) + template[1] + prepared.now + template[2]);
            continue;
          }
          const via = local ? this.io.local : this.io;
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

  /** An encoded packet to this instance's sockets in a Socket.IO room, as `io.local.to(key).emit` writes it. */
  private writeLocal(key: string, packet: string): void {
    const nsp = this.io.sockets;
    const ids = nsp.adapter.rooms.get(key);
    if (!ids) return;
    for (const id of ids) nsp.sockets.get(id)?.client._packet([packet] as never, { preEncoded: true });
  }
}
