/**
 * The process: load config, listen, and close gracefully on SIGTERM/SIGINT —
 * /health turns 503, sockets are closed so clients reconnect elsewhere and resume,
 * and the process exits 0 within SHUTDOWN_GRACE_MS (1 if it could not).
 */
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const app = await buildApp(config);
  const log = app.fastify.log;
  // A bug in one request must not take every room down with it.
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));

  closeWithGrace({ delay: config.shutdownGraceMs || 1, logger: log }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'fatal error; closing');
    log.info({ signal, drain_ms: config.shutdownDrainMs }, 'shutting down: draining');
    // /health says 503 first, while sockets keep working, so the load balancer stops
    // sending new clients here before the current ones are closed and reconnect elsewhere.
    app.startDraining();
    if (!err) await new Promise((r) => setTimeout(r, config.shutdownDrainMs));
    await app.close();
    log.info('closed');
    process.exit(err ? 1 : 0);
  });

  const url = await app.listen();
  log.info({ url, instance: config.instanceId, store: app.store.kind }, 'focusroom listening');
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
