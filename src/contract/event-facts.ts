/**
 * One table of facts about every server → client event: what kind of event it is, whether
 * its payload carries the room snapshot, whether it changes the room's countdown, and who
 * receives it. The broadcaster, the tickers and the timer follower read these facts instead
 * of keeping their own lists, and the web client / SDK can import this file (type-only
 * imports, so its compiled JS stands alone).
 *
 * Adding an event to `ServerToClientEvents` (or `RoomEvents`) does not compile until it has
 * a row here, and a row that contradicts the payload type (a snapshot flag on a payload
 * without `session`, a room event without `seq`) does not compile either.
 */
import type { RoomEventName, ServerToClientEvents, SessionSnapshot } from './events.js';

/**
 * - `room`: a room broadcast, kept in the room log with its `seq` and replayed on resume.
 * - `reply`: sent to the socket that asked (create/join/resume replies, errors).
 * - `tick`: sent by each instance to its own sockets in the room (`io.local`), never logged.
 */
export type EventKind = 'room' | 'reply' | 'tick';

/**
 * - `everyone`: every socket in the room.
 * - `others`: every socket in the room except the participant the payload names
 *   (`participant_id`), who has its ack (Fidan's status updates).
 * - `host_copy`: every socket in the room, the host's socket with its own copy of the
 *   snapshot (`is_creator` is relative to the receiver).
 * - `caller`: the one socket that sent the request.
 * - `local`: each instance's own sockets in the room.
 */
export type Audience = 'everyone' | 'others' | 'host_copy' | 'caller' | 'local';

export interface EventFacts {
  kind: EventKind;
  /** The payload carries the room snapshot (`session`). */
  snapshot: boolean;
  /** The event changes the room's countdown: tickers re-align when it happens. */
  timer: boolean;
  audience: Audience;
}

/** The facts an event with payload `P` may have: checked against the payload's shape. */
export type FactsFor<P> = [P] extends [{ seq: number }]
  ? [P] extends [{ session: SessionSnapshot }]
    ? { kind: 'room'; snapshot: true; timer: boolean; audience: 'host_copy' }
    : [P] extends [{ participant_id: string }]
      ? { kind: 'room'; snapshot: false; timer: boolean; audience: 'everyone' | 'others' }
      : { kind: 'room'; snapshot: false; timer: boolean; audience: 'everyone' }
  : [P] extends [{ session: SessionSnapshot }]
    ? { kind: 'reply'; snapshot: true; timer: false; audience: 'caller' }
    : { kind: 'reply' | 'tick'; snapshot: false; timer: false; audience: 'caller' | 'local' };

/** A row for every event of the map `M`, and no other. */
export type EventFactsTable<M = ServerToClientEvents> = {
  readonly [K in keyof M]: M[K] extends (payload: infer P) => void ? FactsFor<P> : never;
};

export const EVENT_FACTS = {
  // Replies to the asking socket.
  session_created: { kind: 'reply', snapshot: true, timer: false, audience: 'caller' },
  session_joined: { kind: 'reply', snapshot: true, timer: false, audience: 'caller' },
  join_error: { kind: 'reply', snapshot: false, timer: false, audience: 'caller' },
  error: { kind: 'reply', snapshot: false, timer: false, audience: 'caller' },
  // Each instance ticks its own sockets.
  time_update: { kind: 'tick', snapshot: false, timer: false, audience: 'local' },
  // Room broadcasts.
  participant_joined: { kind: 'room', snapshot: true, timer: false, audience: 'host_copy' },
  participant_left: { kind: 'room', snapshot: true, timer: false, audience: 'host_copy' },
  participant_connection: { kind: 'room', snapshot: false, timer: false, audience: 'everyone' },
  creator_changed: { kind: 'room', snapshot: false, timer: false, audience: 'everyone' },
  session_started: { kind: 'room', snapshot: true, timer: true, audience: 'host_copy' },
  session_paused: { kind: 'room', snapshot: true, timer: true, audience: 'host_copy' },
  session_resumed: { kind: 'room', snapshot: true, timer: true, audience: 'host_copy' },
  settings_updated: { kind: 'room', snapshot: true, timer: false, audience: 'host_copy' },
  session_completed: { kind: 'room', snapshot: true, timer: true, audience: 'host_copy' },
  phase_changed: { kind: 'room', snapshot: true, timer: true, audience: 'host_copy' },
  participant_status_updated: { kind: 'room', snapshot: false, timer: false, audience: 'others' },
  task_added: { kind: 'room', snapshot: false, timer: false, audience: 'everyone' },
  task_updated: { kind: 'room', snapshot: false, timer: false, audience: 'everyone' },
  task_removed: { kind: 'room', snapshot: false, timer: false, audience: 'everyone' },
  participant_intention: { kind: 'room', snapshot: false, timer: false, audience: 'everyone' },
  participant_recap: { kind: 'room', snapshot: false, timer: false, audience: 'everyone' },
  room_closed: { kind: 'room', snapshot: false, timer: true, audience: 'everyone' },
} as const satisfies EventFactsTable;

export type ServerEventName = keyof typeof EVENT_FACTS;

/** The names of the events whose facts match `pred`, in table order. */
export function eventsWhere(pred: (facts: EventFacts) => boolean): ServerEventName[] {
  return (Object.keys(EVENT_FACTS) as ServerEventName[]).filter((name) => pred(EVENT_FACTS[name]));
}

/** Every room broadcast (kept in the room log). */
export const ROOM_EVENT_NAMES = eventsWhere((f) => f.kind === 'room') as RoomEventName[];

/** Room events whose payload carries the room snapshot (the host gets its own copy). */
export const SNAPSHOT_EVENTS: ReadonlySet<RoomEventName> = new Set(ROOM_EVENT_NAMES.filter((e) => EVENT_FACTS[e].snapshot));

/** Room events that change the countdown: the tickers re-align after them. */
export const TIMER_EVENTS: ReadonlySet<RoomEventName> = new Set(ROOM_EVENT_NAMES.filter((e) => EVENT_FACTS[e].timer));

/** Every event (room broadcast or reply) that carries a snapshot: where a socket's view of the room comes from. */
export const SNAPSHOT_BEARING_EVENTS: ReadonlySet<ServerEventName> = new Set(eventsWhere((f) => f.snapshot));

/** Who receives room event `event`. */
export const audienceOf = (event: RoomEventName): Audience => EVENT_FACTS[event].audience;
