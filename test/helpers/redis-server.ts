/**
 * A throwaway redis-server for tests: random free port on 127.0.0.1, no persistence,
 * killed by PID. `kill()` + `restart()` on the same port simulate an outage. The system
 * Redis (6379) is never touched.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Socket } from 'node:net';
import { exitOf, trackChild } from './children.js';
import { freePort } from './ports.js';
import { freshDataDir } from './test-env.js';

export interface TestRedis {
  port: number;
  url: string;
  /** PID of the current redis-server process (changes on restart). */
  readonly pid: number;
  /** Graceful: SIGTERM, SIGKILL if it lingers; resolves once the process has exited. */
  stop(): Promise<void>;
  /** Crash: SIGKILL at once (the process exits shortly after). */
  kill(): void;
  /** Starts again on the same port (stopping the old process first if it still runs). */
  restart(): Promise<void>;
}

const REDIS_BIN = process.env.REDIS_SERVER_BIN ?? 'redis-server';
const START_TIMEOUT_MS = 5_000;

/** One PING over a raw socket; true on +PONG. */
function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = new Socket();
    let buf = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once('error', () => done(false));
    sock.on('data', (chunk) => {
      buf += chunk.toString();
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
    sock.connect(port, '127.0.0.1', () => sock.write('PING\r\n'));
  });
}

export interface RedisOptions {
  /** Runs redis-server under these commands, e.g. `['taskset', '-c', '0']` (the bench pins it). */
  prefix?: string[];
  /**
   * redis-server arguments instead of the no-persistence default (e.g. the compose file's
   * `--appendonly yes --appendfsync everysec` plus a `--dir` of the test's own); kept on restart.
   */
  args?: string[];
  /** A config file, passed first (`redis-server <file> --port ...`): Sentinel needs one it can rewrite. */
  configFile?: string;
  /** This port instead of a random free one (a node coming back where it was, with other arguments). */
  port?: number;
}

/** No snapshots, no AOF; a dir of its own all the same (removed at exit): a replica's full sync writes an RDB file there, never into the checkout. */
const noPersistence = (): string[] => ['--save', '', '--appendonly', 'no', '--dir', freshDataDir()];

/** Spawns redis-server on `port` and waits until it answers PING; rejects if it dies first. */
async function spawnOn(port: number, opts: RedisOptions): Promise<ChildProcess> {
  const argv = [...(opts.prefix ?? []), REDIS_BIN, ...(opts.configFile ? [opts.configFile] : []), '--port', String(port), '--bind', '127.0.0.1', ...(opts.args ?? noPersistence())];
  const child = trackChild(spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }));
  let output = '';
  child.stdout?.on('data', (c) => (output += c.toString()));
  child.stderr?.on('data', (c) => (output += c.toString()));
  let spawnError: Error | null = null;
  child.once('error', (e) => (spawnError = e));

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError) throw spawnError;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server on port ${port} exited early:\n${output.slice(-2000)}`);
    }
    if (await pingOnce(port)) {
      // Only the startup output matters; stop buffering the log.
      child.stdout?.removeAllListeners('data').resume();
      child.stderr?.removeAllListeners('data').resume();
      return child;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server on port ${port} did not answer PING within ${START_TIMEOUT_MS} ms:\n${output.slice(-2000)}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
  await exitOf(child);
  clearTimeout(timer);
}

export async function startRedis(opts: RedisOptions = {}): Promise<TestRedis> {
  // The port is free when probed but may be taken before redis binds it: try a few.
  let child: ChildProcess | undefined;
  let port = 0;
  let lastError: unknown;
  for (let attempt = 0; attempt < (opts.port ? 1 : 5) && !child; attempt++) {
    port = opts.port ?? (await freePort());
    try {
      child = await spawnOn(port, opts);
    } catch (e) {
      lastError = e;
    }
  }
  if (!child) throw lastError;
  let current: ChildProcess = child;

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return current.pid ?? -1;
    },
    stop: () => stopChild(current),
    kill: () => {
      current.kill('SIGKILL');
    },
    async restart() {
      // Also waits for the exit of a process `kill()` just signalled, so the port is free.
      await stopChild(current);
      current = await spawnOn(port, opts);
    },
  };
}
