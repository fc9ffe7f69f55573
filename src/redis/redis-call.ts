/**
 * Every Redis-backed store sends its commands through `redisCall`, so an unreachable
 * Redis is one typed error (`StoreUnavailable`, answered `unavailable`) whichever store
 * hit it, and no caller has to read ioredis's error text.
 */
import { ReplyError } from 'ioredis';
import { StoreUnavailable } from '../store/store-errors.js';

/**
 * Redis replies that mean "cannot serve right now" (loading its data, busy with a script,
 * a replica during failover, a Redis Cluster slot moving or its master just failed over:
 * ioredis follows MOVED/ASK itself and passes one on only when it ran out of tries), as
 * opposed to a reply that reveals a bug (a script error).
 */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN|MOVED|ASK)\b/;

/**
 * One Redis command's failure as the store reports it: a connection that is closed,
 * refused, timed out or out of retries is `StoreUnavailable`; a real error reply is
 * passed on as it is (a bug, answered `internal`).
 */
export async function redisCall<R>(command: Promise<R>): Promise<R> {
  try {
    return await command;
  } catch (err) {
    if (err instanceof ReplyError && !TRANSIENT_REPLY.test((err as Error).message)) throw err;
    throw new StoreUnavailable(`redis: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
