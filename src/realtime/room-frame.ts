/**
 * One event to a room's local sockets as one pre-built WebSocket frame: the ticker's write
 * path (ticker.ts). The bytes are exactly those Socket.IO's own broadcast sends
 * (`io.local.to(room).except(quiet).emit(event, payload)`: the adapter's encoder, the
 * Engine.IO message prefix `4`, an unmasked text frame), built once per room, written as
 * one buffer to each socket's TCP stream.
 *
 * What it skips, per socket: Engine.IO's packet object, its write buffer, four events
 * (`packetCreate`, `flush`, `drain` on the socket and on the server), the sent-callback
 * bookkeeping and the callback itself; and per room, the adapter's `Set`s of ids and
 * except-ids. Docs: docs/performance.md ("Where a tick's CPU goes").
 *
 * A socket takes the direct write only when nothing of Engine.IO's can be ahead of it or
 * watching it: an open WebSocket transport, writable, with an empty Engine.IO write
 * buffer, no compression, not upgrading, and nothing unsent in its TCP stream. Any other
 * socket (long-polling, a peer that stopped reading, a pending write) gets the same
 * encoded packet through Engine.IO as before — which also keeps the slow-consumer bound
 * (transport-guard.ts charges every packet Engine.IO creates against what is unsent).
 */
import type { Socket as NetSocket } from 'node:net';
import type { TypedServer, TypedSocket } from './types.js';

type Namespace = TypedServer['sockets'];

/** Engine.IO and `ws` internals read here (engine.io 6, ws 8; test/integration/tick-frames.test.ts checks them). */
interface EngineConn {
  readyState: string;
  upgrading: boolean;
  writeBuffer: unknown[];
  transport: {
    name: string;
    writable: boolean;
    perMessageDeflate: unknown;
    socket?: { readyState: number; _socket?: NetSocket | null };
  };
}
interface Encoder {
  encode(packet: { type: number; nsp: string; data: unknown[] }): unknown[];
}
interface EngineClient {
  conn: EngineConn;
  writeToEngine(encoded: unknown[], opts: { preEncoded: boolean }): void;
}

/** socket.io-parser's EVENT packet type. */
const EVENT = 2;
/** ws's readyState OPEN. */
const WS_OPEN = 1;
const PRE_ENCODED = { preEncoded: true } as const;

/** The unmasked final text frame (RFC 6455 §5.2) carrying `text`, in one buffer. */
export function textFrame(text: string): Buffer {
  const len = Buffer.byteLength(text);
  const head = len < 126 ? 2 : len < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + len);
  frame[0] = 0x81;
  if (head === 2) frame[1] = len;
  else if (head === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(len, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(0, 2);
    frame.writeUInt32BE(len, 6);
  }
  frame.write(text, head, 'utf8');
  return frame;
}

/**
 * Sends `event` with `payload` to the local sockets of Socket.IO room `key` that are not in
 * room `except`; returns how many sockets it went to.
 */
export function emitToRoom(nsp: Namespace, key: string, except: string, event: string, payload: object): number {
  const rooms = nsp.adapter.rooms;
  const members = rooms.get(key);
  if (!members || members.size === 0) return 0;
  const quiet = rooms.get(except);
  const encoded = (nsp.adapter as unknown as { encoder: Encoder }).encoder.encode({ type: EVENT, nsp: nsp.name, data: [event, payload] });
  if (encoded.length !== 1 || typeof encoded[0] !== 'string') {
    // Binary attachments (never in a tick): Socket.IO's own broadcast.
    const op = nsp.server.local.to(key).except(except);
    (op.emit as unknown as (this: typeof op, ev: string, data: object) => boolean).call(op, event, payload);
    return members.size - (quiet?.size ?? 0);
  }
  let frame: Buffer | null = null;
  let sent = 0;
  const sockets = nsp.sockets;
  for (const id of members) {
    if (quiet !== undefined && quiet.has(id)) continue;
    const socket: TypedSocket | undefined = sockets.get(id);
    if (socket === undefined) continue;
    sent++;
    const client = socket.client as unknown as EngineClient;
    const conn = client.conn;
    const transport = conn.transport;
    const ws = transport.socket;
    const tcp = ws?._socket;
    if (
      tcp &&
      transport.writable &&
      conn.writeBuffer.length === 0 &&
      conn.readyState === 'open' &&
      !conn.upgrading &&
      !transport.perMessageDeflate &&
      ws.readyState === WS_OPEN &&
      tcp.writableLength === 0 &&
      transport.name === 'websocket'
    ) {
      frame ??= textFrame('4' + (encoded[0] as string));
      tcp.write(frame);
    } else {
      client.writeToEngine(encoded, PRE_ENCODED);
    }
  }
  return sent;
}
