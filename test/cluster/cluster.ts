/**
 * Cluster-test helpers: focusroom instances as child processes (for `kill -9` and
 * SIGTERM) on free ports (test/helpers/ports.ts), and small HTTP probes. In-process
 * instances come from test/helpers/server.ts (`startServer({ REDIS_URL }, { redisPrefix })`).
 */
import { freePort } from '../helpers/ports.js';
import { spawnServerProcess } from '../helpers/process.js';
import { TEST_ENV } from '../helpers/server.js';

const START_TIMEOUT_MS = 20_000;

export interface HttpReply {
  status: number;
  body: any;
}

/** GET a JSON route; rejects only on a network error or after `timeoutMs`. */
export async function getJson(url: string, timeoutMs = 2_000): Promise<HttpReply> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { connection: 'close' } });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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
  const port = await freePort();
  const env = {
    ...process.env,
    ...TEST_ENV,
    LOG_LEVEL: 'warn',
    PORT: String(port),
    HOST: '127.0.0.1',
    REDIS_URL: opts.redisUrl,
    INSTANCE_ID: opts.id,
    SHUTDOWN_GRACE_MS: '5000',
    ...opts.env,
  };
  const { child, exited } = spawnServerProcess(env);
  let out = '';
  const keep = (c: Buffer) => {
    out = (out + c.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  let dead = false;
  void exited.then(() => (dead = true));
  for (;;) {
    if (dead) throw new Error(`instance ${opts.id} exited during start:\n${out}`);
    try {
      if ((await getJson(`${url}/health`, 1_000)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`instance ${opts.id} not healthy within ${START_TIMEOUT_MS} ms:\n${out}`);
    }
    await sleep(100);
  }
  return {
    id: opts.id,
    port,
    url,
    pid: child.pid!,
    output: () => out,
    signal: (sig) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    },
    exited,
  };
}

/** SIGKILL and wait for the exit (cleanup in afterAll). */
export async function killInstance(inst: ChildInstance | undefined): Promise<void> {
  if (!inst) return;
  inst.signal('SIGKILL');
  await inst.exited;
}
