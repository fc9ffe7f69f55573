/**
 * One `onAnyOutgoing` hook per socket for everything in cluster mode that follows what
 * this instance's sockets are sent (the timer follower, the history replay): the hook
 * runs for every packet a socket gets, ticks included, so it is installed once, when the
 * socket first joins a focus room, and fans out to the listeners.
 *
 * A listener sees the room the socket is in when the packet goes out (`socket.data`,
 * not the room it first joined), and hears when the last local socket of a room left it.
 */
import { roomKey, type TypedServer, type TypedSocket } from '../realtime/types.js';

export interface RoomOutgoingListener {
  /** A packet sent to one of this instance's sockets, seated in `code` (null once it left). */
  sent(code: string | null, event: string, payload: unknown): void;
  /** No socket here is in the room any more. */
  gone?(code: string): void;
}

const R = roomKey('');
const hubs = new WeakMap<TypedServer, RoomOutgoingListener[]>();

export function followRoomOutgoing(io: TypedServer, listener: RoomOutgoingListener): void {
  let listeners = hubs.get(io);
  if (!listeners) {
    listeners = [];
    hubs.set(io, listeners);
    install(io, listeners);
  }
  listeners.push(listener);
}

function install(io: TypedServer, listeners: RoomOutgoingListener[]): void {
  const nsp = io.of('/');
  const hooked = new WeakSet<TypedSocket>();
  nsp.adapter.on('join-room', (room: string, id: string) => {
    if (!room.startsWith(R)) return;
    const socket = nsp.sockets.get(id);
    if (!socket || hooked.has(socket)) return;
    hooked.add(socket);
    socket.onAnyOutgoing((event: string, payload: unknown) => {
      const code = socket.data.roomCode ?? null;
      for (const l of listeners) l.sent(code, event, payload);
    });
  });
  nsp.adapter.on('delete-room', (room: string) => {
    if (!room.startsWith(R)) return;
    const code = room.slice(R.length);
    for (const l of listeners) l.gone?.(code);
  });
}
