/**
 * A real focusroom server on port 0 for tests. Tests pass env overrides exactly as an
 * operator would; defaults only silence logs and lift the per-address limits that a
 * test (hundreds of clients from 127.0.0.1) would otherwise hit.
 *
 * One way to start one: `newServer(env, deps)`, which registers its own teardown
 * (./teardown.ts: after the test when started in a test, after the file when started in
 * beforeAll), so no file writes an afterAll for it; `close()` may still be called early
 * (a test that checks shutdown), the teardown then does nothing. `useSharedServer` is
 * newServer in beforeAll plus closing this file's clients after each test.
 */
import { afterEach, beforeAll } from 'vitest';
import { type App, type AppDeps, buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { closeAllClients } from './client.js';
import { LIFTED_ABUSE_BOUNDS, TEST_ENV, withDataDir } from './test-env.js';
import { once, registerTeardown } from './teardown.js';

export { LIFTED_ABUSE_BOUNDS, TEST_ENV };

export interface TestServer {
  app: App;
  url: string;
  close(): Promise<void>;
}


/** Starts a server and registers its teardown (see the top of this file). */
export async function newServer(env: Record<string, string> = {}, deps: AppDeps = {}): Promise<TestServer> {
  const config = loadConfig(withDataDir({ ...TEST_ENV, ...env }));
  const app = await buildApp(config, deps);
  const close = once(() => app.close());
  registerTeardown(close);
  const url = await app.listen();
  return { app, url, close };
}

/** The former name of `newServer` (same function: it registers its teardown too). */
export const startServer = newServer;

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
    server = await newServer(env, deps);
  });
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
