/**
 * The environment every test server starts from (in-process and child instances): logs
 * silenced, and the per-address limits lifted that a test (hundreds of clients from
 * 127.0.0.1) would otherwise hit. Tests add their own overrides on top, as an operator would.
 *
 * The store of record is ON, as `npm start` runs it: each server gets its own fresh
 * DATA_DIR (`withDataDir`; one data dir per process, the lock refuses a second). A test
 * about a server without one says so (it sets DATA_DIR to off in its own env).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserKeys } from '../../src/domain/user-keys.js';
/**
 * The per-address and load bounds (docs/reliability.md "Load and abuse"), lifted: a test's hundreds of clients come
 * from one address (127.0.0.1) at once, on a loaded machine. Spread it into the env of a
 * spawned server too; the abuse tests set their own.
 */
export const LIFTED_ABUSE_BOUNDS: Record<string, string> = {
  RATE_ADDRESS_EVENTS_PER_SEC: '10000000',
  RATE_INSTANCE_EVENTS_PER_SEC: '10000000',
  EVENT_LOOP_LAG_SHED_MS: '60000',
  MAX_CONNECTIONS_PER_ADDRESS: '10000000',
  MAX_PENDING_PER_ADDRESS: '1000000',
  RATE_ROOM_CONTROLS_PER_MIN: '1000000',
  RATE_ME_ADDRESS_POINTS_PER_MIN: '10000000',
  MAX_ROOMS_PER_ADDRESS: '100000000',
  MAX_ROOMS_PER_IDENTITY: '100000000',
};

/**
 * The user-key secret every test server shares, so a test can hold keys the server would
 * have issued (`issuedUserKey`) without a round trip. Deployments generate theirs
 * (runtime/user-key-secret.ts; user-key.test.ts covers that path with it unset).
 */
export const TEST_USER_KEY_SECRET = 'test-user-key-secret-0123456789abcdef';

/** A user_key as the test servers issue it (HMAC-tagged, domain/user-keys.ts). */
export const issuedUserKey = (): string => new UserKeys(Buffer.from(TEST_USER_KEY_SECRET)).issue();

export const TEST_ENV: Record<string, string> = {
  PORT: '0',
  USER_KEY_SECRET: TEST_USER_KEY_SECRET,
  HOST: '127.0.0.1',
  LOG_LEVEL: 'silent',
  RATE_CONNECTIONS_PER_MIN: '1000000',
  RATE_SOCKET_EVENTS_PER_SEC: '1000',
  RATE_CREATES_PER_MIN: '1000000',
  RATE_JOIN_FAILURES_PER_MIN: '1000000',
  // Per-address and load bounds (docs/reliability.md "Load and abuse") lifted too; tests of those set their own.
  ...LIFTED_ABUSE_BOUNDS,
};

let root: string | null = null;

/** A new empty directory for one server's embedded store; all of them go when the test process exits. */
export function freshDataDir(): string {
  if (!root) {
    mkdirSync(tmpdir(), { recursive: true });
    const dir = mkdtempSync(join(tmpdir(), 'focusroom-test-'));
    root = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return mkdtempSync(join(root, 'data-'));
}

/** `env` with a fresh DATA_DIR unless it names its own store of record (DATA_DIR or DATABASE_URL). */
export function withDataDir<T extends Record<string, string | undefined>>(env: T): T {
  if ('DATA_DIR' in env || 'DATABASE_URL' in env) return env;
  return { ...env, DATA_DIR: freshDataDir() };
}
