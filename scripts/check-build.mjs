#!/usr/bin/env node
/**
 * `prestart`: checks, never builds. The build happens once, at `npm install` / `npm ci`
 * (package.json `prepare`) or with `npm run build`; building here made several `npm start`
 * from one checkout race on dist/ (one died with "does not provide an export named ...").
 * Read-only, so any number of starts may run it at once.
 *
 * Exits 1 with a message when dist/server.js or the SDK bundle is missing, or older than a file in src/
 * (the sources changed since the last build: a `git pull` without a rebuild would
 * otherwise start yesterday's server).
 */
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The embedded store of record is node:sqlite, built into Node 24 (package.json engines):
// on an older Node the server would start without its store, so say so and stop.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`focusroom: Node ${process.versions.node} is too old; Node 24 LTS or later is required (package.json engines; the embedded store uses node:sqlite)`);
  process.exit(1);
}
// Both outputs of `npm run build`: the server, and the SDK's browser bundle the page loads.
const outputs = [join(root, 'dist', 'server.js'), join(root, 'dist', 'browser', 'focusroom-client.js')];

/** Newest .ts file under dir: [mtimeMs, path]. */
function newest(dir) {
  let best = [0, ''];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    const cand = e.isDirectory() ? newest(p) : e.name.endsWith('.ts') ? [statSync(p).mtimeMs, p] : best;
    if (cand[0] > best[0]) best = cand;
  }
  return best;
}

let built = Infinity;
for (const out of outputs) {
  try {
    built = Math.min(built, statSync(out).mtimeMs);
  } catch {
    console.error(`focusroom: ${relative(root, out)} is missing; build it first: npm run build (npm install does it too)`);
    process.exit(1);
  }
}
const [changed, file] = newest(join(root, 'src'));
if (changed > built) {
  console.error(`focusroom: ${relative(root, file)} changed after the last build; rebuild first: npm run build`);
  process.exit(1);
}
