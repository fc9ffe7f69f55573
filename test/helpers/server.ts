/**
 * A real focusroom server on port 0 for tests. Tests pass env overrides exactly as an
 * operator would; defaults only silence logs and lift the per-address limits that a
 * test (hundreds of clients from 127.0.0.1) would otherwise hit.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import { type App, type AppDeps, buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { closeAllClients } from './client.js';

export interface TestServer {
  app: App;
  url: string;
  close(): Promise<void>;
}

/**
 * The DESIGN.md §11 per-address and load bounds, lifted: a test's hundreds of clients come
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
};

export const TEST_ENV: Record<string, string> = {
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'silent',
  RATE_CONNECTIONS_PER_MIN: '1000000',
  RATE_SOCKET_EVENTS_PER_SEC: '1000',
  RATE_CREATES_PER_MIN: '1000000',
  RATE_JOIN_FAILURES_PER_MIN: '1000000',
  // Per-address and load bounds (§11) lifted too; tests of those set their own.
  ...LIFTED_ABUSE_BOUNDS,
};

export async function startServer(env: Record<string, string> = {}, deps: AppDeps = {}): Promise<TestServer> {
  const config = loadConfig({ ...TEST_ENV, ...env });
  const app = await buildApp(config, deps);
  const url = await app.listen();
  return { app, url, close: () => app.close() };
}

export interface SharedServer extends TestServer {
  /** The stored room's current seq. */
  seqOf(code: string): Promise<number>;
}

/**
 * One server for a whole test file: started in beforeAll, closed in afterAll, and every
 * client from ./client.ts closed after each test. Call it at the top level of the file;
 * `url` and `app` are there once beforeAll has run (inside tests and hooks).
 */
export function useSharedServer(env: Record<string, string> = {}, deps: AppDeps = {}): SharedServer {
  let server: TestServer | undefined;
  const current = (): TestServer => {
    if (!server) throw new Error('useSharedServer: the server starts in beforeAll; use it inside tests and hooks');
    return server;
  };
  beforeAll(async () => {
    server = await startServer(env, deps);
  });
  afterAll(() => current().close());
  afterEach(() => closeAllClients());
  return {
    get app() {
      return current().app;
    },
    get url() {
      return current().url;
    },
    close: () => current().close(),
    seqOf: async (code) => (await current().app.store.get(code))!.seq,
  };
}
