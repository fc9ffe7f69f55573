/**
 * The embedded store's failures an operator has to act on, each said once in words that
 * name the path and the fix (docs/persistence.md), instead of an error code repeated
 * every few seconds.
 */
import { resolve } from 'node:path';
import type { DatabaseConfig } from './database.js';
import { EmbeddedStoreError } from './sqlite-dialect.js';

export interface StoreProblem {
  message: string;
  code: string;
  /** The DATA_DIR, absolute. */
  path: string;
  /** Refused at start: the server does not run on (a second process, PGlite files). */
  fatal: boolean;
}

/** The problem `err` means for the embedded store, or null (PostgreSQL, or nothing an operator can fix). */
export function explainStoreError(err: unknown, config: DatabaseConfig): StoreProblem | null {
  if (config.kind !== 'sqlite' || config.dataDir === ':memory:') return null;
  const path = resolve(config.dataDir);
  const fsCode = (err as { code?: unknown })?.code;
  const kind = err instanceof EmbeddedStoreError ? err.kind : fsCode === 'EACCES' || fsCode === 'EROFS' || fsCode === 'EPERM' ? 'not_writable' : 'other';
  const code = typeof fsCode === 'string' ? fsCode : kind;
  switch (kind) {
    case 'locked':
      return {
        message: `DATA_DIR ${path} is in use by another focusroom process (only one may use a data dir): stop it, or give this one its own DATA_DIR`,
        code,
        path,
        fatal: true,
      };
    case 'pglite_dir':
      return {
        message: `DATA_DIR ${path} holds a PGlite database written by an older focusroom: export it with \`node scripts/migrate-pglite.mjs ${path} <new-dir>\` (docs/persistence.md), then start with DATA_DIR=<new-dir>`,
        code,
        path,
        fatal: true,
      };
    case 'not_writable':
      return {
        message: `DATA_DIR ${path} cannot be written (${code}): results are not kept. Make it writable by the user this server runs as (uid ${process.getuid?.() ?? '?'}), or set DATA_DIR to a writable directory`,
        code,
        path,
        fatal: false,
      };
    case 'full':
      return {
        message: `the disk under DATA_DIR ${path} is full: results wait in the outbox and are written once space is freed`,
        code,
        path,
        fatal: false,
      };
    default:
      return null;
  }
}
