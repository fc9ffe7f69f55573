/**
 * `npm run bench -- --only abuse` — the attacks of docs/reliability.md "Load and abuse", longer than the tests
 * (test/integration/slow-consumers-and-floods.test.ts) run them. One focusroom server with the default
 * abuse bounds (only the harness's per-address rate limits lifted, TRUST_PROXY on so
 * clients can spread over addresses), then phases, each reporting the server's peak RSS,
 * a probe room's tick lateness (p50 / p99 / max at the client) and how long a
 * resume_session takes meanwhile (reconnect to ack, retried while refused):
 *
 *   slow    20 WebSocket clients that stop reading and 5 long-polling clients that send
 *           one GET and never read it, in a 50-seat room with 50 long tasks, while the host
 *           toggles pause/resume 100 times a second (RATE_ROOM_CONTROLS_PER_MIN and
 *           RATE_SOCKET_EVENTS_PER_SEC lifted to allow it, so the buffer bound is what is
 *           measured; at the default 20/s the kernel's socket buffers absorb a short run)
 *   flood   1,000 sockets × 19 legal events/s from 250 addresses (test/helpers/flood-worker.mjs)
 *   storm   400 seats from one address lose their connections at once and come back
 *           (bench/lib/reconnect-storm.ts), 100 wrong-token resumes from the same address
 *
 * `--abuse-unbounded` runs the same phases with every abuse bound lifted by env (buffer cap,
 * event budgets, lag shedding, room-control budget): an approximation of a server without
 * them (blind pongs and bare-session timers are not env-switchable), for the `lifted`
 * rows of docs/reliability.md's benchmark table.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { io as connectClient, type Socket } from 'socket.io-client';
import type { Socket as TcpSocket } from 'node:net';
import { rawPolling, rawWs, type RawWs } from '../../test/helpers/raw-engine.js';
import { Hist, summarize, type Percentiles } from '../lib/hist.js';
import type { NodeChild } from '../lib/procs.js';
import { runReconnectStorm } from '../lib/reconnect-storm.js';

export interface AbuseServer extends NodeChild {
  url: string;
}

/** What a phase gets: the running server, the window length, and a logger. */
export interface PhaseEnv {
  server: AbuseServer;
  windowMs: number;
  log: (s: string) => void;
}

export interface PhaseResult {
  name: string;
  rssStartMb: number;
  rssPeakMb: number;
  tickLateMs: Percentiles;
  resumeMs: Percentiles & { failed: number };
  /** Phase-specific counters (cuts, shed events, ...). */
  extra: Record<string, number>;
}

export interface AbusePhase {
  name: string;
  /** Sets up the attack, runs it for env.windowMs, tears it down; the probes run around it. */
  attack(env: PhaseEnv): Promise<{ stop(): Promise<Record<string, number>> }>;
}

export interface AbuseResult {
  unbounded: boolean;
  phases: PhaseResult[];
}

/** Env of the server: the abuse bounds at their defaults, or all lifted (--abuse-unbounded). */
export function abuseServerEnv(unbounded: boolean): Record<string, string> {
  const env: Record<string, string> = {
    TRUST_PROXY: 'true',
    // The harness's own handshakes and rooms are not what is measured.
    RATE_CONNECTIONS_PER_MIN: '10000000',
    RATE_CREATES_PER_MIN: '1000000',
    MAX_ROOMS_PER_ADDRESS: '100000000',
    MAX_ROOMS_PER_IDENTITY: '100000000',
    RATE_JOIN_FAILURES_PER_MIN: '1000000',
    RATE_SOCKET_EVENTS_PER_SEC: '100',
    RATE_ROOM_CONTROLS_PER_MIN: '1000000',
    MAX_BUFFERED_BYTES: '',
    RATE_ADDRESS_EVENTS_PER_SEC: '',
    RATE_INSTANCE_EVENTS_PER_SEC: '',
    EVENT_LOOP_LAG_SHED_MS: '',
    MAX_CONNECTIONS_PER_ADDRESS: '',
    MAX_CONNECTIONS: '',
    MAX_PENDING_PER_ADDRESS: '1000',
  };
  if (unbounded) {
    Object.assign(env, {
      MAX_BUFFERED_BYTES: String(1024 ** 3),
      RATE_ADDRESS_EVENTS_PER_SEC: '10000000',
      RATE_INSTANCE_EVENTS_PER_SEC: '10000000',
      EVENT_LOOP_LAG_SHED_MS: '60000',
    });
  }
  return env;
}


function client(url: string, address: string): Promise<Socket> {
  const s = connectClient(url, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 10_000, extraHeaders: { 'x-forwarded-for': address } });
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

const ack = (s: Socket, event: string, payload: unknown = {}, ms = 10_000): Promise<any> => s.timeout(ms).emitWithAck(event, payload);

/** Counter values of one metric from /metrics, summed by label value. */
async function scrape(url: string, name: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /\{[^}]*="([^"]*)"[^}]*\}\s+([\d.e+-]+)$/.exec(line);
    if (m) out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  }
  return out;
}

/** A room of two whose ticks are timed at the client. */
async function probeTicks(url: string): Promise<{ late: Hist; close(): void }> {
  const a = await client(url, '192.0.2.1');
  const b = await client(url, '192.0.2.1');
  const { room_code } = await ack(a, 'create_session', { user_name: 'probe', session_duration: 3_600_000 });
  await ack(b, 'join_session', { room_code, user_name: 'peer' });
  await ack(a, 'start_session');
  const late = new Hist();
  a.on('time_update', (t: { ends_at: number; time_left_ms: number }) => late.add(Math.max(0, Date.now() - (t.ends_at - t.time_left_ms))));
  return { late, close: () => (a.disconnect(), b.disconnect()) };
}

/** Every second: drop a seated client's connection, reconnect, resume_session; time to the ack (retried while refused). */
async function probeResumes(url: string): Promise<{ stop(): Promise<{ times: Hist; failed: number }> }> {
  const host = await client(url, '192.0.2.2');
  let seat = await ack(host, 'create_session', { user_name: 'resumer', session_duration: 3_600_000 });
  const keeper = await client(url, '192.0.2.3');
  await ack(keeper, 'join_session', { room_code: seat.room_code, user_name: 'keeper' });
  let current: Socket = host;
  const times = new Hist();
  let failed = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      await sleep(1_000);
      current.disconnect();
      const t0 = Date.now();
      let ok = false;
      while (!ok && Date.now() - t0 < 15_000) {
        try {
          current = await client(url, '192.0.2.2');
          const r = await ack(current, 'resume_session', { room_code: seat.room_code, participant_id: seat.participant_id, resume_token: seat.resume_token }, 5_000);
          ok = r.ok === true;
          if (!ok) {
            current.disconnect();
            await sleep(200);
          }
        } catch {
          current.disconnect();
          await sleep(200);
        }
      }
      if (ok) times.add(Date.now() - t0);
      else failed += 1;
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      current.disconnect();
      keeper.disconnect();
      return { times, failed };
    },
  };
}

const slowPhase: AbusePhase = {
  name: 'slow',
  async attack({ server }) {
    const host = await client(server.url, '198.51.100.1');
    const { room_code } = await ack(host, 'create_session', { user_name: 'host', max_participants: 50, session_duration: 3_600_000 });
    for (let i = 0; i < 50; i++) await ack(host, 'add_task', { title: `${i}`.padEnd(200, 'x') });
    await ack(host, 'start_session');
    const slow: RawWs[] = [];
    for (let i = 0; i < 20; i++) {
      const c = await rawWs(server.url, { 'x-forwarded-for': `198.51.100.${10 + i}` });
      c.emit('join_session', { room_code, user_name: `slow${i}` });
      await c.next('session_joined');
      slow.push(c);
    }
    const polls: TcpSocket[] = [];
    for (let i = 0; i < 5; i++) {
      const p = await rawPolling(server.url);
      await p.emit('join_session', { room_code, user_name: `poll${i}` });
      for (let k = 0; k < 20 && !(await p.poll()).some((m) => m.startsWith('42["session_joined"')); k++) await sleep(50);
      polls.push(p.pollNeverRead());
    }
    for (const c of slow) c.stopReading();
    let running = true;
    let toggles = 0;
    const loop = (async () => {
      while (running) {
        // Just under the per-socket limit set above (100/s).
        const t = Date.now();
        await ack(host, toggles % 2 ? 'resume_timer' : 'pause_session').catch(() => undefined);
        toggles += 1;
        await sleep(Math.max(0, 11 - (Date.now() - t)));
      }
    })();
    return {
      async stop() {
        running = false;
        await loop;
        const cuts = await scrape(server.url, 'focusroom_transport_cuts_total');
        for (const c of slow) c.ws.terminate();
        for (const p of polls) p.destroy();
        host.disconnect();
        return { toggles, cutSlowConsumers: cuts['slow consumer'] ?? 0, slowClients: slow.length + polls.length };
      },
    };
  },
};

const floodPhase: AbusePhase = {
  name: 'flood',
  async attack({ server }) {
    const worker = new Worker(new URL('../../test/helpers/flood-worker.mjs', import.meta.url), { workerData: { url: server.url, sockets: 1_000, perRoom: 4, rate: 19, addresses: 250 } });
    await new Promise<void>((resolve, reject) => {
      worker.once('error', reject);
      worker.on('message', (m: { type: string; error?: string }) => {
        if (m.type === 'failed') reject(new Error(m.error));
        if (m.type === 'ready') resolve();
      });
    });
    const shed0 = await scrape(server.url, 'focusroom_shed_events_total');
    worker.postMessage('go');
    return {
      async stop() {
        const stats = await new Promise<{ sent: number; errors: Record<string, number> }>((resolve) => {
          worker.on('message', (m: { type: string; sent: number; errors: Record<string, number> }) => m.type === 'stats' && resolve(m));
          worker.postMessage('stop');
        });
        await worker.terminate();
        const shed = await scrape(server.url, 'focusroom_shed_events_total');
        const d = (k: string) => (shed[k] ?? 0) - (shed0[k] ?? 0);
        return { sent: stats.sent, shedLag: d('lag'), shedInstance: d('instance'), shedAddress: d('address'), refusalsAnswered: (stats.errors.rate_limited ?? 0) + (stats.errors.unavailable ?? 0) };
      },
    };
  },
};

/**
 * A reconnect storm behind one address (bench/lib/reconnect-storm.ts): 400 seated clients
 * from one address (127.0.0.1) lose their connections at once and come back with the seat in the
 * handshake, retrying any refusal, while 4 sockets at the same address try 100 wrong
 * tokens on their seats. One server here, so "their instance died" is every transport cut
 * at once; test/cluster/reconnect-storm.test.ts does it with a real SIGKILL of one of two
 * instances. The address's connection budget is the harness's (lifted), so this measures
 * the bare-session cap and the server's time to take everyone back.
 */
const stormPhase: AbusePhase = {
  name: 'storm',
  async attack({ server }) {
    const run = runReconnectStorm({ firstUrl: server.url, backUrl: server.url, clients: 400, attackers: 4, attacksEach: 25, settleTimeoutMs: 30_000 });
    return {
      async stop() {
        const r = await run;
        return {
          clients: r.clients,
          resumed: r.resumed,
          notResumed: r.notResumed,
          stormResumeP50Ms: r.resumeMs.p50,
          stormResumeP95Ms: r.resumeMs.p95,
          stormResumeMaxMs: r.resumeMs.max,
          refusedHandshakes: Object.values(r.connectErrors).reduce((a, b) => a + b, 0),
          wrongTokensAnsweredInvalid: r.attacks.invalid_token ?? 0,
        };
      },
    };
  },
};

/** The phases in order. */
export const ABUSE_PHASES: AbusePhase[] = [slowPhase, floodPhase, stormPhase];

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

/** Runs every phase against `server` (started by the caller with abuseServerEnv()). */
export async function runAbusePhases(server: AbuseServer, windowMs: number, unbounded: boolean, log: (s: string) => void): Promise<AbuseResult> {
  const phases: PhaseResult[] = [];
  for (const phase of ABUSE_PHASES) {
    const rss = async () => (await server.request<{ mem: NodeJS.MemoryUsage }>({ type: 'stats' })).mem.rss;
    const rssStart = await rss();
    const ticks = await probeTicks(server.url);
    const resumes = await probeResumes(server.url);
    const attack = await phase.attack({ server, windowMs, log });
    let rssPeak = rssStart;
    const t0 = Date.now();
    while (Date.now() - t0 < windowMs) {
      await sleep(500);
      rssPeak = Math.max(rssPeak, await rss().catch(() => 0));
    }
    const extra = await attack.stop();
    const { times, failed } = await resumes.stop();
    ticks.close();
    const r: PhaseResult = {
      name: phase.name,
      rssStartMb: mb(rssStart),
      rssPeakMb: mb(rssPeak),
      tickLateMs: summarize(ticks.late),
      resumeMs: { ...summarize(times), failed },
      extra,
    };
    log(
      `  ${phase.name}: RSS ${r.rssStartMb} → peak ${r.rssPeakMb} MB · probe tick lateness p50 ${r.tickLateMs.p50} / p99 ${r.tickLateMs.p99} / max ${r.tickLateMs.max} ms (${r.tickLateMs.count} ticks) · resume p50 ${r.resumeMs.p50} / p99 ${r.resumeMs.p99} ms (${r.resumeMs.count} ok, ${failed} failed) · ${JSON.stringify(extra)}`,
    );
    phases.push(r);
    // Let the server settle (cut clients' graces, backlogs) before the next phase.
    await sleep(2_000);
  }
  return { unbounded, phases };
}
