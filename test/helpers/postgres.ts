/**
 * A throwaway PostgreSQL for tests: initdb in a temp dir, the server on a random
 * loopback port, run as the `postgres` user (PostgreSQL refuses root). Stopped and
 * killed by the PID in its own postmaster.pid; the machine's PostgreSQL (5432) is never
 * touched.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';

/** PG_BIN, else Debian's newest /usr/lib/postgresql/<version>/bin, else PATH. */
function findBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : '';
}
const BIN = findBin();
const bin = (name: string) => (BIN ? join(BIN, name) : name);

export interface TestPostgres {
  port: number;
  url: string;
  /** The postmaster's PID (changes on restart). */
  readonly pid: number;
  /** Fast shutdown; resolves once it is gone. */
  stop(): Promise<void>;
  /** SIGKILL of the postmaster (a crash). */
  kill(): void;
  /** Starts again on the same port and data directory. */
  restart(): Promise<void>;
  /** Rows of a query (test assertions), in `database` (default: postgres). */
  query<R = Record<string, unknown>>(text: string, values?: unknown[], database?: string): Promise<R[]>;
  /** The URL of another database on this server. */
  urlOf(database: string): string;
  /** Stops and deletes the data directory. */
  destroy(): Promise<void>;
}

/** As the postgres user when we are root (PostgreSQL will not run as root). */
function asPostgres(cmd: string, args: string[]): { status: number | null; out: string } {
  const argv = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  const r = spawnSync(argv[0] as string, argv[1] as string[], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function pidOf(dir: string): number {
  try {
    return Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return 0;
  }
}

const alive = (pid: number) => {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Every postmaster started here, so none outlives the test process. */
const live = new Set<number>();
process.on('exit', () => {
  for (const pid of live) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

export async function startPostgres(): Promise<TestPostgres> {
  const root = mkdtempSync(join(tmpdir(), 'focusroom-pg-'));
  const dir = join(root, 'data');
  if (process.getuid?.() === 0) chownSync(root, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), Number(execFileSync('id', ['-g', 'postgres']).toString().trim()));
  const init = asPostgres(bin('initdb'), ['-D', dir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
  if (init.status !== 0) throw new Error(`initdb failed:\n${init.out}`);
  const port = await freePort();
  let pid = 0;
  const start = async () => {
    const opts = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50 -c shared_buffers=16MB`;
    const r = asPostgres(bin('pg_ctl'), ['start', '-w', '-t', '30', '-D', dir, '-l', join(root, 'log'), '-o', opts]);
    if (r.status !== 0) throw new Error(`pg_ctl start failed:\n${r.out}\n${existsSync(join(root, 'log')) ? readFileSync(join(root, 'log'), 'utf8') : ''}`);
    pid = pidOf(dir);
    live.add(pid);
  };
  await start();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const waitGone = async (p: number) => {
    const deadline = Date.now() + 10_000;
    while (alive(p) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    live.delete(p);
  };
  const self: TestPostgres = {
    port,
    url,
    get pid() {
      return pid;
    },
    async stop() {
      if (!alive(pid)) return;
      process.kill(pid, 'SIGINT'); // fast shutdown
      await waitGone(pid);
    },
    kill() {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
      live.delete(pid);
    },
    async restart() {
      if (alive(pid)) await self.stop();
      else await waitGone(pid);
      await start();
    },
    urlOf: (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async query<R>(text: string, values: unknown[] = [], database = 'postgres') {
      const client = new pg.Client({ connectionString: self.urlOf(database) });
      await client.connect();
      try {
        return (await client.query(text, values)).rows as R[];
      } finally {
        await client.end();
      }
    },
    async destroy() {
      if (alive(pid)) {
        process.kill(pid, 'SIGINT');
        await waitGone(pid);
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
  return self;
}
