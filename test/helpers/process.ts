/**
 * The real server as a child process (`node --import tsx src/server.ts`), exactly as an
 * operator runs it: for signal handling and config validation. Killed by PID only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { trackChild } from './children.js';
import { getJson } from './http.js';
import { freePort } from './ports.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { TEST_ENV, withDataDir } from './test-env.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** How a child process ended, and when (Date.now()). */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  url: string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<ProcessExit>;
}

/**
 * `node --import tsx src/server.ts` from the repository root with exactly `env`, stdout and
 * stderr piped (the caller reads them). SIGKILLed if still running when the test process exits.
 */
export function spawnServerProcess(env: NodeJS.ProcessEnv): { child: ChildProcess; exited: Promise<ProcessExit> } {
  const child = trackChild(spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }));
  const exited = new Promise<ProcessExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  return { child, exited };
}

export interface SpawnServerOptions {
  /** Keep only the last `keepChars` characters of each stream (long-running instances). */
  keepChars?: number;
}

/** Spawns the server with `env` added to a quiet test environment (PORT on a free port unless given). */
export async function spawnServer(env: Record<string, string | undefined> = {}, opts: SpawnServerOptions = {}): Promise<ServerProcess> {
  const port = env.PORT !== undefined && /^\d+$/.test(env.PORT) ? Number(env.PORT) : await freePort();
  // env.PORT as given (a test of config validation passes a bad one), else the free port; undefined values are left out.
  const full: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', LOG_LEVEL: 'warn', NODE_ENV: 'test', ...withDataDir(env), PORT: env.PORT ?? String(port) };
  for (const k of Object.keys(full)) if (full[k] === undefined) delete full[k];
  const { child, exited } = spawnServerProcess(full);
  let out = '';
  let err = '';
  const keep = (s: string) => (opts.keepChars ? s.slice(-opts.keepChars) : s);
  child.stdout!.on('data', (c) => (out = keep(out + c.toString())));
  child.stderr!.on('data', (c) => (err = keep(err + c.toString())));
  return { child, port, url: `http://127.0.0.1:${port}`, stdout: () => out, stderr: () => err, exited };
}

/** Polls GET /health until it answers 200 (the server is listening), or fails after `timeoutMs`. */
export async function waitUntilHealthy(p: ServerProcess, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitedEarly = false;
  void p.exited.then(() => (exitedEarly = true));
  while (Date.now() < deadline) {
    if (exitedEarly) throw new Error(`server exited before listening:\n${p.stderr()}\n${p.stdout()}`);
    try {
      if ((await getJson(`${p.url}/health`, 1_000)).status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`server did not become healthy within ${timeoutMs} ms:\n${p.stderr()}`);
}

/** Kills a child that is still running (test cleanup). */
export function killIfRunning(p: ServerProcess | undefined): void {
  if (p && p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
}

// ------------------------------------------------------------------ cluster instances

const START_TIMEOUT_MS = 20_000;

export interface ChildInstance {
  id: string;
  port: number;
  url: string;
  pid: number;
  /** stdout + stderr so far (for failure messages). */
  output(): string;
  /** Sends a signal to exactly this process. */
  signal(sig: NodeJS.Signals): void;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnOptions {
  redisUrl: string;
  id: string;
  env?: Record<string, string>;
}

/**
 * `node --import tsx src/server.ts` on a free port, exactly as an operator runs it
 * (env PORT, REDIS_URL, INSTANCE_ID, ...); resolves once /health answers 200.
 */
export async function spawnInstance(opts: SpawnOptions): Promise<ChildInstance> {
  const p = await spawnServer(
    { ...process.env, ...TEST_ENV, LOG_LEVEL: 'warn', PORT: undefined, HOST: '127.0.0.1', REDIS_URL: opts.redisUrl, INSTANCE_ID: opts.id, SHUTDOWN_GRACE_MS: '5000', ...opts.env },
    { keepChars: 20_000 },
  );
  const { child } = p;
  try {
    await waitUntilHealthy(p, START_TIMEOUT_MS);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`instance ${opts.id}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return {
    id: opts.id,
    port: p.port,
    url: p.url,
    pid: child.pid!,
    output: () => p.stdout() + p.stderr(),
    signal: (sig) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    },
    exited: p.exited,
  };
}

/** SIGKILL and wait for the exit (cleanup in afterAll). */
export async function killInstance(inst: ChildInstance | undefined): Promise<void> {
  if (!inst) return;
  inst.signal('SIGKILL');
  await inst.exited;
}
