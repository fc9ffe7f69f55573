import type { Server, Socket } from 'socket.io';
import type { ClientToServerEvents, InterServerEvents, ServerToClientEvents, SocketData } from '../contract/events.js';

export type TypedServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type TypedSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/**
 * The Socket.IO room of a focus room. A participant's own socket needs no room of its
 * own: every socket is already in a room named by its id, and the room state keeps the
 * participant's current `socket_id`.
 */
export const roomKey = (code: string): string => `r:${code}`;

/**
 * The quiet sockets of a focus room (`set_ticks { enabled: false }`): the ticker sends
 * `time_update` to the room except these. One per focus room, not one for every quiet
 * socket on the instance, because excluding a room costs a walk over its members.
 */
export const quietKey = (code: string): string => `q:${code}`;
