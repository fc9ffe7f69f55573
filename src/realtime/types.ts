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
