/**
 * The node flags the server is deployed with, read from `npm start` (package.json), so
 * the bench measures the server as it runs in production unless told otherwise
 * (`--server-node-args`). The Dockerfile's CMD carries the same flags; the offline
 * deploy checks (scripts/deploy-checks.mjs) fail when the two drift apart.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serverNodeFlags } from '../../scripts/node-flags.mjs';

export function deployedNodeFlags(root: string): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const start = pkg.scripts?.start ?? '';
  const flags = serverNodeFlags(start);
  if (!flags) throw new Error(`package.json "start" is not "node [flags] dist/server.js": ${start}`);
  return flags;
}
