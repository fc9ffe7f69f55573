/**
 * loadConfig: one schema gives both the checks and the Config; the cross-variable rule
 * (a drain longer than half the shutdown grace) is refused by name instead of clamped.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('defaults: a drain of 1 s within the 10 s grace, in-memory, anonymous', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 3000, shutdownGraceMs: 10_000, shutdownDrainMs: 1_000, redis: null, authJwtSecret: null });
  });

  it('refuses SHUTDOWN_DRAIN_MS above half of SHUTDOWN_GRACE_MS, naming it and the bound', () => {
    const load = () => loadConfig({ SHUTDOWN_GRACE_MS: '3000', SHUTDOWN_DRAIN_MS: '1501' });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/SHUTDOWN_DRAIN_MS: must be at most half of SHUTDOWN_GRACE_MS \(3000 ms → at most 1500\), got 1501/);
  });

  it('accepts a drain of exactly half the grace', () => {
    expect(loadConfig({ SHUTDOWN_GRACE_MS: '3000', SHUTDOWN_DRAIN_MS: '1500' }).shutdownDrainMs).toBe(1_500);
  });

  it('an unset drain follows a short grace (half of it) instead of failing', () => {
    expect(loadConfig({ SHUTDOWN_GRACE_MS: '1000' }).shutdownDrainMs).toBe(500);
    expect(loadConfig({ SHUTDOWN_GRACE_MS: '0' }).shutdownDrainMs).toBe(0);
  });

  it('reports every bad variable at once', () => {
    expect(() => loadConfig({ PORT: 'x', SHUTDOWN_DRAIN_MS: 'soon' })).toThrow(/PORT: must be a whole number[\s\S]*SHUTDOWN_DRAIN_MS: must be a whole number/);
  });

  describe('the Redis topology', () => {
    it('REDIS_URL alone: standalone', () => {
      expect(loadConfig({ REDIS_URL: 'redis://r:6379' }).redis).toEqual({ kind: 'standalone', url: 'redis://r:6379' });
    });

    it('REDIS_CLUSTER=true with a comma list of seeds, 32 partitions unless told', () => {
      expect(loadConfig({ REDIS_CLUSTER: 'true', REDIS_URL: 'redis://a:7000, redis://b:7001' }).redis).toEqual({
        kind: 'cluster',
        urls: ['redis://a:7000', 'redis://b:7001'],
        partitions: 32,
      });
      expect(loadConfig({ REDIS_CLUSTER: '1', REDIS_URL: 'redis://a:7000', REDIS_PARTITIONS: '64' }).redis).toMatchObject({ partitions: 64 });
    });

    it('Sentinel: host:port list and the primary name; REDIS_URL only for the data nodes login', () => {
      expect(
        loadConfig({ REDIS_SENTINELS: 's1:26379,10.0.0.2:26380', REDIS_SENTINEL_NAME: 'mymaster', REDIS_SENTINEL_PASSWORD: 'pw', REDIS_URL: 'redis://:secret@ignored/2' }).redis,
      ).toEqual({
        kind: 'sentinel',
        sentinels: [
          { host: 's1', port: 26379 },
          { host: '10.0.0.2', port: 26380 },
        ],
        name: 'mymaster',
        sentinelPassword: 'pw',
        url: 'redis://:secret@ignored/2',
      });
    });

    it('cluster mode without a database URL keeps no embedded database, whichever topology', () => {
      expect(loadConfig({ REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_NAME: 'm' }).database).toEqual({ kind: 'off' });
      expect(loadConfig({ REDIS_CLUSTER: 'true', REDIS_URL: 'redis://a:7000' }).database).toEqual({ kind: 'off' });
    });

    it.each([
      [{ REDIS_CLUSTER: 'true' }, /REDIS_URL: must name the seed nodes with REDIS_CLUSTER=true/],
      [{ REDIS_URL: 'redis://a:1,redis://b:2' }, /REDIS_URL: a comma list of URLs needs REDIS_CLUSTER=true/],
      [{ REDIS_URL: 'redis://a:1,http://b:2', REDIS_CLUSTER: 'true' }, /REDIS_URL: must start with redis:\/\/ or rediss:\/\//],
      [{ REDIS_SENTINELS: 's1:26379' }, /REDIS_SENTINEL_NAME: must be set with REDIS_SENTINELS/],
      [{ REDIS_SENTINEL_NAME: 'm' }, /REDIS_SENTINELS: must be set with REDIS_SENTINEL_NAME/],
      [{ REDIS_SENTINELS: 's1', REDIS_SENTINEL_NAME: 'm' }, /REDIS_SENTINELS: must be a comma list of host:port/],
      [{ REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_NAME: 'm', REDIS_CLUSTER: 'true', REDIS_URL: 'redis://a:1' }, /REDIS_CLUSTER: Redis Cluster and Sentinel exclude each other/],
      [{ REDIS_CLUSTER: 'true', REDIS_URL: 'redis://a:1', REDIS_PARTITIONS: '1' }, /REDIS_PARTITIONS/],
    ])('refuses %o, naming the variable', (env, message) => {
      expect(() => loadConfig(env as Record<string, string>)).toThrow(message);
    });
  });
});

describe('PUBLIC_URL', () => {
  it('unset: null (links use the request\'s origin); set: the base without a trailing slash', () => {
    expect(loadConfig({}).publicUrl).toBeNull();
    expect(loadConfig({ PUBLIC_URL: 'https://focus.example.com/' }).publicUrl).toBe('https://focus.example.com');
    expect(loadConfig({ PUBLIC_URL: ' http://10.0.0.5:3000/focus ' }).publicUrl).toBe('http://10.0.0.5:3000/focus');
  });

  it.each(['focus.example.com', 'ftp://focus.example.com', 'https://focus.example.com/?x=1', 'https://focus.example.com/#a', 'https://u:p@focus.example.com', 'https://'])(
    'refuses %s, naming the variable',
    (url) => {
      expect(() => loadConfig({ PUBLIC_URL: url })).toThrow(/PUBLIC_URL: must be an absolute http\(s\) URL/);
    },
  );
});
