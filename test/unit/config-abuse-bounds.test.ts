/** The abuse and load bounds (docs/reliability.md "Load and abuse") are validated at start like every variable: a bad value names the variable. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const VARS = [
  'MAX_BUFFERED_BYTES',
  'CONNECT_TIMEOUT_MS',
  'MAX_PENDING_PER_ADDRESS',
  'MAX_CONNECTIONS_PER_ADDRESS',
  'MAX_CONNECTIONS',
  'HTTP_HEADERS_TIMEOUT_MS',
  'HTTP_REQUEST_TIMEOUT_MS',
  'RATE_ADDRESS_EVENTS_PER_SEC',
  'RATE_INSTANCE_EVENTS_PER_SEC',
  'EVENT_LOOP_LAG_SHED_MS',
  'RATE_ROOM_CONTROLS_PER_MIN',
  'MAX_ROOMS',
  'MAX_ROOM_BYTES',
];

describe('abuse and load bounds in the config', () => {
  it('defaults', () => {
    const c = loadConfig({});
    expect(c.transport).toEqual({
      maxBufferedBytes: 1024 * 1024,
      connectTimeoutMs: 5_000,
      maxPendingPerAddress: 20,
      maxConnectionsPerAddress: 5_000,
      maxConnections: 30_000,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      lagShedMs: 100,
    });
    expect(c.rateLimits).toMatchObject({ addressEventsPerSec: 500, instanceEventsPerSec: 6_000, roomControlsPerMin: 30 });
    expect(c.maxRooms).toBe(10_000);
    expect(c.maxRoomBytes).toBe(512 * 1024);
  });

  for (const name of VARS) {
    it(`${name}: not a number, zero or negative → a ConfigError naming it`, () => {
      for (const bad of ['abc', '0', '-5', '1.5']) {
        expect(() => loadConfig({ [name]: bad })).toThrow(ConfigError);
        expect(() => loadConfig({ [name]: bad })).toThrow(name);
      }
    });
  }

  it('MAX_BUFFERED_BYTES is at least one frame (16 KB); HTTP_REQUEST_TIMEOUT_MS is never below the headers timeout', () => {
    expect(() => loadConfig({ MAX_BUFFERED_BYTES: '1000' })).toThrow('MAX_BUFFERED_BYTES');
    expect(loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '40000', HTTP_REQUEST_TIMEOUT_MS: '20000' }).transport.requestTimeoutMs).toBe(40_000);
  });
});
