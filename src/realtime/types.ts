import type { Server, Socket } from 'socket.io';
import type { ClientToServerEvents, InterServerEvents, ServerToClientEvents, SocketData } from '../contract/events.js';

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
