/**
 * The raw `ws` baseline: the least a server can do to deliver the same ticks. Clients
 * connect with `?g=<group>` (groups of 4, like rooms); on `start` each group gets its own
 * self-correcting setTimeout aligned to its own `ends_at` (spread over one second, as the
 * bench spreads room starts), and every second sends each member the same-shape JSON the
 * focusroom server sends (`42["time_update",{...}]`, encoded once per group, so the frame
 * has the same size). No Socket.IO, no rooms, no heartbeats, no compression.
 * Same IPC as server-entry.mjs for CPU, memory and CPU profiles.
 */
import { startCpuProfile, stopCpuProfile } from './lib/inspector.mjs';
import { serveHarness } from './lib/harness-ipc.mjs';
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, clientTracking: false });
/** group id → sockets */
const groups = new Map();

wss.on('connection', (ws, req) => {
  const g = new URL(req.url ?? '/', 'http://x').searchParams.get('g') ?? '0';
  let members = groups.get(g);
  if (!members) groups.set(g, (members = new Set()));
  members.add(ws);
  ws.on('close', () => members.delete(ws));
  ws.on('error', () => {});
});

function startGroup(members, endsAt, duration) {
  const tick = (k, dueAt) => {
    const now = Date.now();
    const timeLeft = k * 1000;
    const frame = '42' + JSON.stringify(['time_update', { time_left_ms: timeLeft, elapsed: duration - timeLeft, ends_at: endsAt, server_now: now, phase: 'focus', round: 1 }]);
    for (const ws of members) ws.send(frame);
    schedule(k);
  };
  const schedule = (below) => {
    const now = Date.now();
    const k = Math.min(below - 1, Math.ceil((endsAt - now) / 1000) - 1);
    if (k < 1) return;
    const dueAt = endsAt - k * 1000;
    setTimeout(tick, Math.max(0, dueAt - now), k, dueAt);
  };
  schedule(Number.MAX_SAFE_INTEGER);
}


async function handle(msg) {
  switch (msg.type) {
    case 'start': {
      const ids = [...groups.keys()];
      const t0 = Date.now();
      ids.forEach((g, i) => startGroup(groups.get(g), t0 + Math.floor((i / ids.length) * msg.spreadMs) + msg.durationMs, msg.durationMs));
      return { groups: ids.length };
    }
    case 'stats': {
      let connections = 0;
      for (const m of groups.values()) connections += m.size;
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
wss.on('listening', () => {
  const { port } = wss.address();
  process.send?.({ type: 'ready', url: `ws://127.0.0.1:${port}`, pid: process.pid });
});
