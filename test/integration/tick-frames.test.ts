/**
 * The ticker's write path (src/realtime/room-frame.ts): a tick is one frame built once per
 * room and written to each WebSocket's TCP stream, and the wire must be exactly what
 * Socket.IO's own broadcast sends — Fidan clients and the SDK see the same bytes. Raw
 * clients read the frames: a WebSocket one (the direct write) and a long-polling one (the
 * Engine.IO path every other socket keeps), beside a socket.io-client.
 */
import { Encoder } from 'socket.io-parser';
import { describe, expect, it } from 'vitest';
import * as wsModule from 'ws';
import { textFrame } from '../../src/realtime/room-frame.js';
import { call, connect, record, waitFor } from '../helpers/client.js';
import { rawPolling, rawWs } from '../helpers/raw-engine.js';
import { useSharedServer } from '../helpers/server.js';

const server = useSharedServer();

/** What ws itself frames for a server-sent text message (unmasked, final, no compression). */
const wsFrame = (text: string): Buffer =>
  Buffer.concat(
    (wsModule as unknown as { Sender: { frame(data: Buffer, o: object): Buffer[] } }).Sender.frame(Buffer.from(text), {
      readOnly: false,
      mask: false,
      rsv1: false,
      opcode: 1,
      fin: true,
    }),
  );

describe('textFrame', () => {
  it.each([0, 1, 125, 126, 127, 300, 65_535, 65_536, 70_000])('is the frame ws builds, %i bytes of payload', (n) => {
    const text = 'x'.repeat(n);
    expect(textFrame(text).equals(wsFrame(text))).toBe(true);
  });

  it('counts bytes, not characters (multi-byte UTF-8)', () => {
    const text = '42["time_update",{"phase":"fokus ✓ çalış 🍅"}]'.repeat(4);
    expect(textFrame(text).equals(wsFrame(text))).toBe(true);
  });
});

describe('ticks on the wire', () => {
  it('a WebSocket, a long-polling and a socket.io-client member get the same text, Socket.IO’s own encoding', async () => {
    const host = await connect(server.url);
    const created = await call(host, 'create_session', { user_name: 'Host', session_duration: 3_500 });
    const code = created.room_code as string;
    const ws = await rawWs(server.url);
    ws.emit('join_session', { room_code: code, user_name: 'Raw' });
    await ws.next('session_joined');
    const polling = await rawPolling(server.url);
    await polling.emit('join_session', { room_code: code, user_name: 'Poll' });
    const hostTicks = record(host, 'time_update');
    // Every message the WebSocket member reads is a text frame (ws checks each frame's header and UTF-8).
    const binary: boolean[] = [];
    ws.ws.on('message', (_d, isBinary) => binary.push(isBinary));
    expect((await call(host, 'start_session')).ok).toBe(true);
    const polled: string[] = [];
    const done = waitFor(host, 'session_completed', 6_000);
    while (polled.filter((p) => p.startsWith('42["time_update"')).length < 3) {
      polled.push(...(await polling.poll()));
    }
    await done;

    const wsTicks = ws.messages.filter((m) => m.startsWith('2["time_update"'));
    expect(wsTicks).toHaveLength(3);
    const pollTicks = polled.filter((p) => p.startsWith('42["time_update"')).map((p) => p.slice(1));
    // Same text to every transport, byte for byte (one encode per room).
    expect(pollTicks).toEqual(wsTicks);
    expect(hostTicks.map((t) => t.time_left_ms)).toEqual([3_000, 2_000, 1_000]);
    const encoder = new Encoder();
    for (const [i, text] of wsTicks.entries()) {
      const payload = JSON.parse(text.slice(1))[1];
      expect(Object.keys(payload)).toEqual(['time_left_ms', 'elapsed', 'ends_at', 'server_now', 'phase', 'round']);
      expect(payload.time_left_ms).toBe(3_000 - i * 1_000);
      expect(payload.server_now).toBe(hostTicks[i]!.server_now);
      // What Socket.IO's emit would have written: its parser's packet, Engine.IO's "4", ws's frame.
      const [expected] = encoder.encode({ type: 2, nsp: '/', data: ['time_update', payload] });
      expect(text).toBe(expected);
    }
    expect(binary.length).toBeGreaterThanOrEqual(3);
    expect(binary.every((b) => b === false)).toBe(true);
  }, 15_000);

  it('the Engine.IO and ws internals the direct write reads are there (else every tick silently takes the slow path)', async () => {
    const host = await connect(server.url);
    await call(host, 'create_session', { user_name: 'Host' });
    const engine = server.app.io.engine as unknown as { clients: Record<string, any> };
    const sid = (host.io.engine as unknown as { id: string }).id;
    const conn = engine.clients[sid];
    expect(conn.readyState).toBe('open');
    expect(conn.upgrading).toBe(false);
    expect(Array.isArray(conn.writeBuffer)).toBe(true);
    expect(conn.transport.name).toBe('websocket');
    expect(conn.transport.writable).toBe(true);
    expect(conn.transport.perMessageDeflate).toBeFalsy();
    expect(conn.transport.socket.readyState).toBe(wsModule.WebSocket.OPEN);
    expect(typeof conn.transport.socket._socket.write).toBe('function');
    expect(conn.transport.socket._socket.writableLength).toBe(0);
    // Socket.IO's socket reaches the same connection through its client.
    const socket = server.app.io.sockets.sockets.get(host.id!) as unknown as { client: { conn: unknown; writeToEngine: unknown } };
    expect(socket.client.conn).toBe(conn);
    expect(typeof socket.client.writeToEngine).toBe('function');
  });
});
