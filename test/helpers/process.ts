/**
 * The real server as a child process (`node --import tsx src/server.ts`), exactly as an
 * operator runs it: for signal handling and config validation. Killed by PID only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';

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

/** Every server child still alive, so none outlives the test process. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/**
 * `node --import tsx src/server.ts` from the repository root with exactly `env`, stdout and
 * stderr piped (the caller reads them). SIGKILLed if still running when the test process exits.
 */
export function spawnServerProcess(env: NodeJS.ProcessEnv): { child: ChildProcess; exited: Promise<ProcessExit> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const exited = new Promise<ProcessExit>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal, at: Date.now() });
    }),
  );
  return { child, exited };
}

/** Spawns the server with `env` added to a quiet test environment (PORT on a free port unless given). */
export async function spawnServer(env: Record<string, string> = {}): Promise<ServerProcess> {
  const port = env.PORT !== undefined && /^\d+$/.test(env.PORT) ? Number(env.PORT) : await freePort();
  const { child, exited } = spawnServerProcess({ PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', NODE_ENV: 'test', ...env });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c) => (out += c.toString()));
  child.stderr!.on('data', (c) => (err += c.toString()));
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
      const res = await fetch(`${p.url}/health`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server did not become healthy within ${timeoutMs} ms:\n${p.stderr()}`);
}

/** Kills a child that is still running (test cleanup). */
export function killIfRunning(p: ServerProcess | undefined): void {
  if (p && p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
}
