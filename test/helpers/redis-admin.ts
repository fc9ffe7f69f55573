/**
 * Admin commands the Redis Cluster and Sentinel fixtures send to one node: a short-lived
 * connection per command (no reconnect loop left behind towards a node a test killed),
 * INFO parsing, and polling with a deadline. Plain Node: also usable from the bench.
 */
import { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';

/** One command to 127.0.0.1:`port` on a fresh connection; rejects if the node does not answer within `timeoutMs`. */
export async function redisCommand(port: number, args: Array<string | number>, timeoutMs = 2_000): Promise<unknown> {
  const conn = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  conn.on('error', () => {});
  try {
    await conn.connect();
    const [name, ...rest] = args;
    return await conn.call(String(name), ...rest.map(String));
  } finally {
    conn.disconnect();
  }
}

/** `key:value` lines of INFO / CLUSTER INFO as a map. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

/** INFO `section` of the node on `port`, parsed. */
export async function infoOf(port: number, section: string): Promise<Record<string, string>> {
  return parseInfo(String(await redisCommand(port, ['INFO', section])));
}

/** true if the node on `port` answers PING now. */
export async function answers(port: number): Promise<boolean> {
  try {
    return (await redisCommand(port, ['PING'], 500)) === 'PONG';
  } catch {
    return false;
  }
}

/**
 * Calls `check` every `stepMs` until it returns true (errors count as false), or throws
 * after `timeoutMs` with `what` and the last error or state `check` reported.
 */
export async function pollUntil(what: string, check: () => Promise<boolean | string>, timeoutMs: number, stepMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const r = await check();
      if (r === true) return;
      if (typeof r === 'string') last = r;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() >= deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms${last ? ` (last: ${last})` : ''}`);
    await sleep(stepMs);
  }
}

/**
 * Resolves once every replica of the primary on `primaryPort` has acknowledged all it has
 * written so far (replication is asynchronous: a test that kills a primary right after a
 * write would otherwise lose the write, as production may).
 */
export async function waitForReplicasOf(primaryPort: number, timeoutMs = 10_000): Promise<void> {
  const repl = await infoOf(primaryPort, 'replication');
  const target = Number(repl.master_repl_offset ?? 0);
  const replicas = Object.keys(repl).filter((k) => /^slave\d+$/.test(k)).length;
  await pollUntil(
    `replicas of :${primaryPort} at offset ${target}`,
    async () => {
      const now = await infoOf(primaryPort, 'replication');
      const offsets = Object.entries(now)
        .filter(([k]) => /^slave\d+$/.test(k))
        .map(([, v]) => Number(/offset=(\d+)/.exec(v)?.[1] ?? -1));
      return (offsets.length >= replicas && offsets.every((o) => o >= target)) || `offsets ${offsets.join(',')}`;
    },
    timeoutMs,
    20,
  );
}
