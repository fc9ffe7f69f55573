/**
 * The layer rules (.dependency-cruiser.cjs, run by `npm run lint`) fail on a violation:
 * the real config cruises a small throwaway tree, laid out like src/, that breaks them
 * on purpose — the domain importing Socket.IO and the realtime layer, an HTTP route
 * importing the dispatcher, a store reaching into the wiring, the SDK importing the
 * domain, a module at the top of src/ that no layer covers, a cycle, and a runtime import
 * of a devDependency (absent from a production install). The real tree passing
 * is `npm run lint` itself.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

/** The throwaway tree: path → source. */
const FILES: Record<string, string> = {
  'src/contract/events.ts': `export type RoomCode = string;\n`,
  'src/domain/leak.ts': [
    `import type { Server } from 'socket.io';`,
    `import type { Emitter } from '../realtime/emitter.js';`,
    `import type { RoomCode } from '../contract/events.js';`,
    `export type Leak = [Server, Emitter, RoomCode];`,
  ].join('\n'),
  'src/realtime/emitter.ts': `export interface Emitter { emit(): void }\n`,
  'src/realtime/dispatcher.ts': `export const toWire = (e: unknown): string => String(e);\n`,
  'src/http/route.ts': `import { toWire } from '../realtime/dispatcher.js';\nexport const route = toWire;\n`,
  'src/store/reach-up.ts': `import type { App } from '../app.js';\nexport type Up = App;\n`,
  'src/app.ts': `export interface App { up: true }\n`,
  'src/stray.ts': `export const stray = true;\n`,
  'src/realtime/uses-stray.ts': `import { stray } from '../stray.js';\nexport const usesStray = stray;\n`,
  'src/client/sdk.ts': `import type { Leak } from '../domain/leak.js';\nexport type Sdk = Leak;\n`,
  'src/scheduler/a.ts': `import { b } from './b.js';\nexport const a = (): number => b() + 1;\n`,
  'src/scheduler/b.ts': `import { a } from './a.js';\nexport const b = (): number => a() - 1;\n`,
  // yaml and ws are devDependencies of the real package.json (copied in beforeAll): a value
  // import of one breaks `npm ci --omit=dev`; a type-only one is erased at compile time.
  'src/runtime/dev-import.ts': `import { parse } from 'yaml';\nexport const readYaml = parse;\n`,
  'src/runtime/dev-types.ts': `import type { WebSocket } from 'ws';\nexport type Ws = WebSocket;\n`,
  'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true }, include: ['src'] }),
};

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'focusroom-layers-'));
  for (const [path, text] of Object.entries(FILES)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  // Package imports resolve as in the repository (socket.io must be recognised as socket.io),
  // and are classified by the repository's package.json (dependency or devDependency).
  await writeFile(join(dir, 'package.json'), await readFile(join(ROOT, 'package.json'), 'utf8'));
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function cruise(cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [DEPCRUISE, 'src', '--config', join(ROOT, '.dependency-cruiser.cjs')], { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

describe('layer rules', () => {
  it('npm run lint fails on a layer violation and on a cycle, naming each rule and file', async () => {
    const { code, out } = await cruise(dir);
    expect(code, out).not.toBe(0);
    expect(out).toMatch(/error domain-is-pure: src\/domain\/leak\.ts → \S*node_modules\/socket\.io\//);
    expect(out).toMatch(/error domain-is-pure: src\/domain\/leak\.ts → src\/realtime\/emitter\.ts/);
    expect(out).toMatch(/error http-not-sockets: src\/http\/route\.ts → src\/realtime\/dispatcher\.ts/);
    expect(out).toMatch(/error storage-below-transports: src\/store\/reach-up\.ts → src\/app\.ts/);
    expect(out).toMatch(/error client-only-contract: src\/client\/sdk\.ts → src\/domain\/leak\.ts/);
    expect(out).toMatch(/error top-level-modules-known: src\/realtime\/uses-stray\.ts → src\/stray\.ts/);
    expect(out).toMatch(/error no-circular: src\/scheduler\/a\.ts →\s+src\/scheduler\/b\.ts →\s+src\/scheduler\/a\.ts/);
    expect(out).toMatch(/error runtime-imports-are-dependencies: src\/runtime\/dev-import\.ts → \S*node_modules\/yaml\//);
    // The files that keep the rules are not reported.
    expect(out).not.toMatch(/src\/runtime\/dev-types\.ts →/);
    expect(out).not.toMatch(/src\/contract\/events\.ts →/);
  }, 90_000);
});
