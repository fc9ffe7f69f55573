/**
 * The node flags of a command that runs dist/server.js: the words between `node` and
 * `dist/server.js`. Takes a Dockerfile CMD (exec form `["node", ...]` or shell form)
 * or an npm script. Returns null when the command does not run node dist/server.js.
 * One parser for the deploy lint (scripts/deploy-checks.mjs: Dockerfile CMD and
 * `npm start` must agree) and the bench (bench/lib/deployed-flags.ts: it runs the
 * server with the `npm start` flags).
 * @param {string} command
 * @returns {string[] | null}
 */
export function serverNodeFlags(command) {
  let words;
  const trimmed = command.trim();
  if (trimmed.startsWith('[')) {
    try {
      words = JSON.parse(trimmed).map(String);
    } catch {
      return null;
    }
  } else {
    words = trimmed.split(/\s+/);
  }
  const node = words.findIndex((w) => w === 'node' || w.endsWith('/node'));
  const entry = words.indexOf('dist/server.js');
  if (node < 0 || entry < node) return null;
  return words.slice(node + 1, entry);
}
