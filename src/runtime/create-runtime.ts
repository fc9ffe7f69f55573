/** Picks the runtime for a config: one instance in memory, or a cluster on Redis. */
import type { Config } from '../config.js';
import { createLocalRuntime } from './local-runtime.js';
import { createRedisRuntime } from './redis-runtime.js';
import type { Runtime, RuntimeDeps } from './runtime.js';

export async function createRuntime(config: Config, deps: RuntimeDeps): Promise<Runtime> {
  return config.redis ? createRedisRuntime(config.redis, config, deps) : createLocalRuntime(config, deps);
}
