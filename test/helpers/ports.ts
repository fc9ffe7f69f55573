/**
 * Free TCP ports for test servers (child servers, redis-server, dead endpoints).
 * Plain Node: also usable from scripts run with tsx outside vitest.
 */
import { createServer } from 'node:net';

/**
 * A port that was free a moment ago on 127.0.0.1. Another process may take it before the
 * caller binds it: callers that can retry on a bind failure should.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}
