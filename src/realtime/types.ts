import type { Server, Socket } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '../contract/events.js';

/**
 * Messages between instances (`serverSideEmit`): none. Instances share rooms through the
 * store, and tickers follow the snapshot events their own sockets receive
 * (cluster/delivery-gate.ts): pub/sub messages would be lost in a Redis blink, the
 * adapter's stream is replayed. (A `room_timer` message used to duplicate that.)
 */
export type InterServerEvents = Record<string, never>;

/** Per-socket state (Socket.IO `socket.data`). */
export interface SocketData {
  roomCode: string | null;
  participantId: string | null;
  /**
   * The `seq` of the newest room event this socket has (its snapshot's on taking a seat):
   * cluster delivery drops an older or equal one and fills a gap first (src/cluster/delivery-gate.ts).
   */
  deliveredSeq: number;
  /** From a verified JWT (`sub`, `name`) when auth is on. */
  userSub: string | null;
  userName: string | null;
  /** The verified JWT's `exp` (ms since epoch) when auth is on: the socket is closed then. */
  tokenExpiresAt: number | null;
  /** Who this socket is across rooms (domain/identity.ts): from the JWT `sub`; null when anonymous. */
  identity: string | null;
  ip: string;
  /** (ext) `set_ticks { enabled: false }`: this socket gets no `time_update`. */
  quiet: boolean;
}

export type TypedServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type TypedSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** The Socket.IO room of a focus room. */
export const roomKey = (code: string): string => `r:${code}`;

/**
 * A participant's own Socket.IO room (its current socket joins it), for what only that
 * participant gets (the host's copy of a snapshot event). Addressing the socket id
 * instead would work too, but on Redis Cluster a message to a socket id goes to every
 * instance, and one to a named room only to the instance serving it (the sharded
 * adapter's per-room channels).
 */
export const seatKey = (code: string, participantId: string): string => `s:${code}:${participantId}`;

/**
 * The quiet sockets of a focus room (`set_ticks { enabled: false }`): the ticker sends
 * `time_update` to the room except these. One per focus room, not one for every quiet
 * socket on the instance, because excluding a room costs a walk over its members.
 */
export const quietKey = (code: string): string => `q:${code}`;
