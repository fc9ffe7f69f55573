/**
 * Configuration is validated at start: a bad value stops the real process with a non-zero
 * exit and a message naming the variable, before it listens.
 */
import { describe, expect, it } from 'vitest';
import { spawnServer, waitUntilHealthy } from '../helpers/process.js';

const BAD: Array<[string, string]> = [
  ['PORT', 'abc'],
  ['DISCONNECT_GRACE_MS', '-5'],
  ['MAX_PARTICIPANTS', '1'],
  ['ROOM_TTL_MS', '1.5'],
  ['REDIS_URL', 'http://localhost:6379'],
  ['LOG_LEVEL', 'loud'],
  // Above half of the default 10 s grace: an error, not a silent clamp.
  ['SHUTDOWN_DRAIN_MS', '6000'],
];

describe('bad configuration', () => {
  it.each(BAD)('%s=%s exits non-zero and names the variable', async (name, value) => {
    const proc = await spawnServer({ [name]: value });
    const exit = await proc.exited;
    expect(exit.signal).toBeNull();
    expect(exit.code).not.toBe(0);
    expect(proc.stderr()).toContain(name);
    expect(proc.stderr()).toMatch(/invalid configuration/);
    // It never listened.
    expect(proc.stdout()).not.toMatch(/listening/);
  }, 15_000);

  it('a good configuration starts', async () => {
    const proc = await spawnServer({ DISCONNECT_GRACE_MS: '0', MAX_PARTICIPANTS: '50' });
    await waitUntilHealthy(proc);
    proc.child.kill('SIGTERM');
    expect((await proc.exited).code).toBe(0);
  }, 20_000);
});
