/**
 * Server-issued user keys: HMAC-tagged keys checked without a store
 * read, and the secret kept across restarts (DATA_DIR) and shared across instances (Redis SET NX).
 */
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { UserKeys } from '../../src/domain/user-keys.js';
import { userKeySecret } from '../../src/runtime/user-key-secret.js';
import { startRedis } from '../helpers/redis-server.js';

describe('UserKeys', () => {
  it('issues 32-character URL-safe keys it accepts; a guessed, altered or foreign key is refused', () => {
    const keys = new UserKeys(Buffer.from('s'.repeat(32)));
    const key = keys.issue();
    expect(key).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(keys.valid(key)).toBe(true);
    expect(keys.valid('A'.repeat(32))).toBe(false);
    expect(keys.valid(key.slice(0, 31) + (key[31] === 'A' ? 'B' : 'A'))).toBe(false);
    expect(keys.valid(key + 'A')).toBe(false);
    expect(keys.valid('')).toBe(false);
    expect(new UserKeys(Buffer.from('t'.repeat(32))).valid(key)).toBe(false);
    const many = new Set(Array.from({ length: 1000 }, () => keys.issue()));
    expect(many.size).toBe(1000);
  });
});

describe('userKeySecret', () => {
  it('USER_KEY_SECRET wins; else one generated into DATA_DIR (0600) and read back after a restart', async () => {
    expect((await userKeySecret(loadConfig({ USER_KEY_SECRET: 'x'.repeat(32), DATA_DIR: 'off' }), null)).toString()).toBe('x'.repeat(32));
    const dir = mkdtempSync(join(tmpdir(), 'ukey-'));
    const config = loadConfig({ DATA_DIR: dir });
    const first = await userKeySecret(config, null);
    const key = new UserKeys(first).issue();
    const again = await userKeySecret(config, null);
    expect(new UserKeys(again).valid(key)).toBe(true);
    expect(statSync(join(dir, 'user-key-secret')).mode & 0o777).toBe(0o600);
  });

  it('cluster mode: the first instance generates it with SET NX, every instance reads the same', async () => {
    const redis = await startRedis();
    const clients = [new Redis(redis.url), new Redis(redis.url)];
    try {
      const config = loadConfig({ REDIS_URL: redis.url });
      const [a, b] = await Promise.all(clients.map((client) => userKeySecret(config, { client, prefix: 'uk:' })));
      expect(a!.equals(b!)).toBe(true);
      expect(new UserKeys(b!).valid(new UserKeys(a!).issue())).toBe(true);
    } finally {
      for (const c of clients) c.disconnect();
      await redis.stop();
    }
  });
});
