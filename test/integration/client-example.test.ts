/**
 * examples/countdown.mjs, an app written against the published export `focusroom/client`
 * (package.json exports, built as `npm run build` builds it): it joins a real room by
 * code, prints the countdown and the results, and exits 0; a wrong code exits 1 with it.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, connect } from '../helpers/client.js';
import { useSharedServer } from '../helpers/server.js';

const server = useSharedServer();
const run = promisify(execFile);

function example(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['examples/countdown.mjs', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

beforeAll(async () => {
  // The client part of `npm run build` (same compiler options, same output paths).
  await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.client.json']);
  expect(existsSync('dist/client/index.js')).toBe(true);
  expect(existsSync('dist/client/index.d.ts')).toBe(true);
}, 90_000);

describe('examples/countdown.mjs', () => {
  it('joins by code, prints the countdown and the results', async () => {
    const host = await connect(server.url);
    const created = await call(host, 'create_session', { user_name: 'Host', session_duration: 3_000 });
    const joined = new Promise<void>((resolve) => host.once('participant_joined', () => resolve()));
    const done = example([created.room_code.toLowerCase(), 'Term', server.url]);
    await joined;
    expect((await call(host, 'start_session')).ok).toBe(true);
    const { code, out } = await done;
    expect(out).toContain(`joined ${created.room_code}`);
    expect(out).toMatch(/focus started/);
    expect(out).toMatch(/^00:0[1-3]$/m);
    expect(out).toMatch(/Term: completed, \d s focused/);
    expect(code).toBe(0);
  }, 30_000);

  it('a wrong code exits 1 with the wire code', async () => {
    const { code, out } = await example(['ZZZZZZ', 'Term', server.url]);
    expect(out).toContain('could not join: not_found');
    expect(code).toBe(1);
  }, 20_000);
});
