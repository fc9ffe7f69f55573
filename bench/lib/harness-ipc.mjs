/**
 * The child side of the bench harness's IPC: each request `{ id, type, ... }` is answered
 * `{ id, ok, result | error }`, and the child exits when the harness goes away.
 */
export function serveHarness(handle) {
  process.on('message', (msg) => {
    handle(msg).then(
      (result) => process.send?.({ id: msg.id, ok: true, result }),
      (err) => process.send?.({ id: msg.id, ok: false, error: String(err?.stack ?? err) }),
    );
  });
  // The harness went away: do not linger.
  process.on('disconnect', () => process.exit(0));
}
