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
});
