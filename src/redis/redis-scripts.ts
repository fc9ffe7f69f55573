/**
 * Lua scripts as methods of a Redis client: `defineScripts(redis, { name: { keys, lua } })`
 * loads each with ioredis's defineCommand (EVALSHA, EVAL on NOSCRIPT) and returns the
 * client typed as those methods, so each store names its scripts once and calls them
 * through `redisCall` like any command. `keys` omitted: the call passes the number of keys
 * first (a script over a batch of keys).
 */
import type { RedisClient } from './redis-keys.js';

export interface ScriptSpec {
  keys?: number;
  lua: string;
}

export function defineScripts<T>(redis: RedisClient, specs: Record<keyof T & string, ScriptSpec>): T {
  for (const [name, spec] of Object.entries<ScriptSpec>(specs)) {
    redis.defineCommand(name, spec.keys === undefined ? { lua: spec.lua } : { numberOfKeys: spec.keys, lua: spec.lua });
  }
  return redis as unknown as T;
}
