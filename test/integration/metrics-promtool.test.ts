/**
 * GET /metrics passes Prometheus's own linter, `promtool check metrics` (Debian package
 * `prometheus`; .ci/run installs it), after a little of everything has been counted: a
 * gauge named `*_total` (prom-client's default active handles/requests/resources) or any
 * other naming slip fails here. Skips with a message where promtool is missing, except
 * in CI.
 */
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { call, callUnchecked, connect } from '../helpers/client.js';
import { useSharedServer } from '../helpers/server.js';

const PROMTOOL = spawnSync('promtool', ['--version']).status === 0;
if (!PROMTOOL) console.warn('metrics-promtool test SKIPPED: no promtool on PATH (apt-get install prometheus)');
const server = useSharedServer();

function promtool(text: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
    child.stdin.end(text);
  });
}

describe.skipIf(!PROMTOOL && !process.env.CI)('GET /metrics', () => {
  it('passes `promtool check metrics`, with no gauge named *_total', async () => {
    const host = await connect(server.url);
    const created = await call(host, 'create_session', { user_name: 'Host', session_duration: 60_000 });
    await call(host, 'add_task', { title: 'count me' });
    await call(host, 'start_session');
    await callUnchecked(host, 'update_status', { status: 'asleep' }); // an error, counted
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toContain('focusroom_events_in_total');
    expect(text).toContain(`focusroom_nodejs_active_handles{`);
    expect(text).not.toMatch(/^# TYPE \S+_total gauge$/m);
    const res = await promtool(text);
    expect(res.out).toBe('');
    expect(res.code).toBe(0);
    expect(created.ok).toBe(true);
  });
});
