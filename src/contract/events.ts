/**
 * The typed wire contract: every event name and payload shape, shared by the server,
 * the tests and the benchmark clients. Field names are snake_case on the wire.
 *
 * The payload shapes are written once, as the zod schemas of server-schemas.ts (what the
 * server sends) and schemas.ts (what it accepts); the types here are derived from them
 * (`z.output` / `z.input`). Every import is type-only, so this file compiles to nothing
 * and the SDK can use it without zod in its bundle.
 */
import type { WireError } from './errors.js';
import type { z } from 'zod';
import type { CLIENT_EVENT_SCHEMAS, ClientEventName } from './schemas.js';
import type { ClientEventResults, ServerEventPayloads } from './server-schemas.js';

export type {
  ClientEventResults,
  HistoryEvent,
  LeaveReason,
  MissedEvent,
  ParticipantResult,
  ParticipantStatus,
  ParticipantView,
  Phase,
  RecapOutcome,
  RecapView,
  RoomClosedReason,
  RoomEventName,
  RoomEvents,
  RoomHistory,
  RoomStatus,
  SessionJoinedPayload,
  SessionResumedPayload,
  SessionSnapshot,
  TaskView,
  TimeSyncResult,
  TimeUpdatePayload,
} from './server-schemas.js';

export type AckResponse<T = object> = ({ ok: true } & T) | { ok: false; error: WireError };
export type Ack<T = object> = (response: AckResponse<T>) => void;

/** What the client sends for event `E`: the input type of the zod schema that validates it. */
export type ClientPayload<E extends ClientEventName> = z.input<(typeof CLIENT_EVENT_SCHEMAS)[E]>;
export type CreateSessionPayload = ClientPayload<'create_session'>;

/** Events whose payload may be left out: their schema is the empty strict object (`Record<string, never>`). */
type PayloadOptional<E extends ClientEventName> = string extends keyof ClientPayload<E> ? true : false;

/**
 * Client → server. Payloads are validated at runtime by CLIENT_EVENT_SCHEMAS; these types,
 * derived from the same schemas, are for clients and tests.
 */
export type ClientToServerEvents = {
  [E in ClientEventName]: (
    ...args: PayloadOptional<E> extends true
      ? [payload?: ClientPayload<E>, ack?: Ack<ClientEventResults[E]>]
      : [payload: ClientPayload<E>, ack?: Ack<ClientEventResults[E]>]
  ) => void;
};

/** Server → client: every event with its payload (SERVER_EVENT_SCHEMAS). */
export type ServerToClientEvents = { [K in keyof ServerEventPayloads]: (payload: ServerEventPayloads[K]) => void };
