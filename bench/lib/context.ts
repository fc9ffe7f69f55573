/**
 * What every scenario runs on: the options, the core plan (servers and redis-server on
 * core 0, client workers and this harness on the others, with taskset), and the child
 * processes — focusroom servers (bench/server-entry.mjs), the raw `ws` baseline and the
 * client workers (bench/clients.ts) — all spoken to over IPC (lib/procs.ts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LIFTED_ABUSE_BOUNDS } from '../../test/helpers/test-env.js';
import type { Options } from './options.js';
import { NodeChild, spawnChild, tools } from './procs.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Cores this harness may use, read before it pins itself to the client cores. */
export const NPROC = os.availableParallelism();

/** A worker process and how many of the connections it holds. */
export type Worker = { w: NodeChild; count: number };

export interface Cores {
  server: string | null;
  clients: string | null;
  description: string;
}

export function planCores(pin: boolean): Cores {
  const n = NPROC;
  if (!pin) return { server: null, clients: null, description: `not pinned (${n} cores shared by everything)` };
  if (!tools.taskset) return { server: null, clients: null, description: `not pinned: taskset not found (${n} cores shared)` };
  if (n < 2) return { server: null, clients: null, description: 'not pinned: 1 core' };
  const clients = n === 2 ? '1' : `1-${n - 1}`;
  // The harness itself does little, but it should not share the server's core either.
  try {
    execFileSync('taskset', ['-a', '-p', '-c', clients, String(process.pid)], { stdio: 'ignore' });
  } catch {
    /* not fatal */
  }
  return { server: '0', clients, description: `server(s) and redis-server on core 0; client workers and harness on core${n === 2 ? '' : 's'} ${clients} (taskset)` };
}

/** The server's per-address and per-server bounds lifted: the harness is one address with thousands of sockets. */
export const LIFTED_LIMITS = {
  RATE_CONNECTIONS_PER_MIN: '10000000',
  RATE_SOCKET_EVENTS_PER_SEC: '100000',
  RATE_CREATES_PER_MIN: '1000000',
  MAX_ROOMS_PER_ADDRESS: '100000000',
  MAX_ROOMS_PER_IDENTITY: '100000000',
  RATE_JOIN_FAILURES_PER_MIN: '1000000',
  // The harness is one address with thousands of sockets (the tests' bounds, test/helpers/test-env.ts);
  // the abuse scenario sets its own.
  ...LIFTED_ABUSE_BOUNDS,
  MAX_CONNECTIONS: '10000000',
};

let dataRoot: string | null = null;

/** A fresh data dir for one bench server; all of them go when the harness exits. */
export function benchDataDir(): string {
  if (!dataRoot) {
    const root = mkdtempSync(join(os.tmpdir(), 'focusroom-bench-data-'));
    dataRoot = root;
    process.once('exit', () => rmSync(root, { recursive: true, force: true }));
  }
  return mkdtempSync(join(dataRoot, 'server-'));
}

export class Ctx {
  constructor(
    readonly opts: Options,
    readonly cores: Cores,
  ) {}

  nodeArgs(): string[] {
    return this.opts.runtime === 'src' ? ['--import', 'tsx'] : [];
  }

  async focusroom(name: string, conns: number, env: Record<string, string> = {}): Promise<NodeChild & { url: string }> {
    const child = spawnChild(process.execPath, [...this.nodeArgs(), ...this.opts.serverNodeArgs, '--expose-gc', join(ROOT, 'bench/server-entry.mjs')], {
      cpus: this.cores.server,
      nofile: conns + 1024,
      ipc: true,
      quiet: true,
      logName: name,
      env: {
        NODE_ENV: 'production',
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        INSTANCE_ID: name,
        BENCH_APP_DIR: this.opts.runtime,
        // The embedded store on, as `npm start` runs it, in a data dir of its own (one process per data dir).
        DATA_DIR: benchDataDir(),
        ...LIFTED_LIMITS,
        ...env,
      },
    });
    const server = new NodeChild(name, child);
    const ready = await server.ready;
    return Object.assign(server, { url: ready.url! });
  }

  async wsBaseline(conns: number): Promise<NodeChild & { url: string }> {
    const child = spawnChild(process.execPath, [...this.opts.serverNodeArgs, join(ROOT, 'bench/ws-baseline.mjs')], { cpus: this.cores.server, nofile: conns + 1024, ipc: true, quiet: true, logName: 'ws-baseline' });
    const server = new NodeChild('ws-baseline', child);
    const ready = await server.ready;
    return Object.assign(server, { url: ready.url! });
  }

  /**
   * The Colyseus benchmark peer (bench/peers/colyseus/server.mjs; installed by
   * ensureColyseusPeer), tuned unless `tuning` is 'defaults'.
   */
  async colyseusPeer(conns: number, tuning: 'tuned' | 'defaults' = 'tuned'): Promise<NodeChild & { url: string }> {
    const child = spawnChild(process.execPath, [...this.opts.serverNodeArgs, join(COLYSEUS_PEER, 'server.mjs')], {
      cpus: this.cores.server,
      nofile: conns + 1024,
      ipc: true,
      quiet: true,
      logName: 'colyseus',
      env: { NODE_ENV: 'production', COLYSEUS_TUNING: tuning },
    });
    const server = new NodeChild('colyseus', child);
    const ready = await server.ready;
    return Object.assign(server, { url: ready.url! });
  }

  /** `count` connections split over the workers in whole rooms of 4. */
  async workers(count: number): Promise<Worker[]> {
    const n = Math.max(1, Math.min(this.opts.workers, count / 4));
    const rooms = count / 4;
    const out: Worker[] = [];
    for (let i = 0; i < n; i++) {
      const share = (Math.floor(rooms / n) + (i < rooms % n ? 1 : 0)) * 4;
      const child = spawnChild(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/clients.ts')], { cpus: this.cores.clients, nofile: share + 1024, ipc: true, quiet: true, logName: `clients-${i}` });
      const w = new NodeChild(`clients-${i}`, child);
      out.push({ w, count: share });
    }
    await Promise.all(out.map((o) => o.w.ready));
    return out;
  }
}

/** The Colyseus benchmark peer's folder: its own package.json, installed on demand, never a focusroom dependency. */
export const COLYSEUS_PEER = join(ROOT, 'bench/peers/colyseus');

/**
 * Makes sure the Colyseus peer is installed (`npm install` in its folder, from the npm
 * registry, when its node_modules are missing); returns why not when it cannot be.
 */
export function ensureColyseusPeer(log: (line: string) => void): string | null {
  if (existsSync(join(COLYSEUS_PEER, 'node_modules/@colyseus/core/package.json')) && existsSync(join(COLYSEUS_PEER, 'node_modules/@colyseus/sdk/package.json'))) return null;
  log(`  installing the Colyseus benchmark peer (dev-only, not a focusroom dependency): npm install in ${COLYSEUS_PEER} …`);
  try {
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: COLYSEUS_PEER, stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 });
    return null;
  } catch (err) {
    const why = String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim().split('\n').slice(-3).join(' ');
    return `npm install in ${COLYSEUS_PEER} failed (${why}); install it by hand: npm --prefix bench/peers/colyseus install`;
  }
}

export async function stopAll(children: Array<NodeChild | null | undefined>): Promise<void> {
  await Promise.all(children.filter((c): c is NodeChild => Boolean(c)).map((c) => c.stop()));
}


/** Countdowns long enough to outlast any run. */
export const SESSION_MS = 30 * 60_000;

export function profileFile(opts: Options, name: string): string {
  const dir = join(dirname(opts.out), 'profiles');
  mkdirSync(dir, { recursive: true });
  return join(dir, `${name}-${Date.now()}.cpuprofile`);
}

