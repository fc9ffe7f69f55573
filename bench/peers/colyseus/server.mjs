/**
 * The Colyseus benchmark peer: a Colyseus 0.18 server whose rooms do focusroom's tick job,
 * for `npm run bench -- --compare` (bench/scenarios/colyseus.ts). Rooms of 4 (the bench's
 * clients create one and three join it by id); on `start` each room gets one
 * self-correcting timer aligned to its own `ends_at` (spread over one second, as the bench
 * spreads focusroom's starts) and every second broadcasts a `time_update` message with the
 * same fields focusroom sends — one msgpack encode per room, the same bytes to each client
 * (`Room.broadcast`). No state (nothing to patch).
 *
 * Tuned (default): patchRate 1 s, WebSocket ping every 25 s (focusroom's Engine.IO ping
 * interval). `COLYSEUS_TUNING=defaults`: Colyseus's own defaults (patchRate 50 ms, ping 3 s).
 * Same IPC as bench/server-entry.mjs for CPU, memory and CPU profiles.
 */
import { Room, Server } from '@colyseus/core';
import { WebSocketTransport } from '@colyseus/ws-transport';
import { startCpuProfile, stopCpuProfile } from '../../lib/inspector.mjs';
import { serveHarness } from '../../lib/harness-ipc.mjs';

const defaults = process.env.COLYSEUS_TUNING === 'defaults';
/** Every live room, in creation order (the order `start` spreads them in). */
const rooms = new Set();

class TickRoom extends Room {
  maxClients = 4;

  onCreate() {
    if (!defaults) this.patchRate = 1000;
    this.autoDispose = false;
    rooms.add(this);
  }

  onJoin() {}

  onDispose() {
    rooms.delete(this);
    if (this.tickTimer) clearTimeout(this.tickTimer);
  }

  /** Ticks every whole second of time left until `endsAt`, like focusroom's ticker (ticker.ts). */
  startCountdown(endsAt, duration) {
    const tick = (k) => {
      const now = Date.now();
      const timeLeft = k * 1000;
      this.broadcast('time_update', { time_left_ms: timeLeft, elapsed: duration - timeLeft, ends_at: endsAt, server_now: now, phase: 'focus', round: 1 });
      schedule(k);
    };
    const schedule = (below) => {
      const now = Date.now();
      const k = Math.min(below - 1, Math.ceil((endsAt - now) / 1000) - 1);
      if (k < 1) return;
      this.tickTimer = setTimeout(tick, Math.max(0, endsAt - k * 1000 - now), k);
    };
    schedule(Number.MAX_SAFE_INTEGER);
  }
}

const transport = new WebSocketTransport({ pingInterval: defaults ? 3000 : 25_000, pingMaxRetries: 2, perMessageDeflate: false });
const server = new Server({ transport, greet: false, gracefullyShutdown: false, logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {} } });
server.define('tick', TickRoom);

async function handle(msg) {
  switch (msg.type) {
    case 'start': {
      const list = [...rooms];
      const t0 = Date.now();
      list.forEach((room, i) => room.startCountdown(t0 + Math.floor((i / list.length) * msg.spreadMs) + msg.durationMs, msg.durationMs));
      return { groups: list.length };
    }
    case 'stats': {
      let connections = 0;
      for (const room of rooms) connections += room.clients.length;
      return { cpu: process.cpuUsage(), mem: process.memoryUsage(), gced: false, connections, hrtime: Number(process.hrtime.bigint() / 1000n) };
    }
    case 'profile-start':
      await startCpuProfile(msg.intervalUs);
      return {};
    case 'profile-stop':
      return stopCpuProfile(msg.file);
    case 'close':
      setImmediate(() => process.exit(0));
      return {};
    default:
      throw new Error(`unknown request ${msg.type}`);
  }
}

serveHarness(handle);
await server.listen(0, '127.0.0.1');
const address = transport.server?.address?.() ?? transport.wss?.options?.server?.address?.();
process.send?.({ type: 'ready', url: `http://127.0.0.1:${address.port}`, pid: process.pid });
