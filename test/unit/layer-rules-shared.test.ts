/**
 * The rules that keep the two transports peers (.dependency-cruiser.cjs): what a REST call
 * shares with its socket twin lives in rooms/ and auth/, below both. The real config
 * cruises a throwaway tree that breaks them on purpose — the room service reaching the
 * Socket.IO layer and the caller layer, the caller layer reaching the Socket.IO layer, an
 * HTTP route reaching the room service's Socket.IO delivery — and one that keeps them.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

const FILES: Record<string, string> = {
  'src/realtime/ticker.ts': `export interface Ticker { sync(): void }\n`,
  'src/realtime/socket-delivery.ts': `import type { RoomDelivery } from '../rooms/delivery.js';\nexport type SocketDelivery = RoomDelivery;\n`,
  'src/rooms/delivery.ts': `export interface RoomDelivery { close(code: string): void }\n`,
  'src/rooms/room-service.ts': `import type { Ticker } from '../realtime/ticker.js';\nimport type { Caller } from '../auth/caller.js';\nexport type RoomService = [Ticker, Caller];\n`,
  'src/rooms/room-entry.ts': `import type { RoomDelivery } from './delivery.js';\nexport type Entry = RoomDelivery;\n`,
  'src/auth/caller.ts': `export interface Caller { identity: string | null }\n`,
  'src/auth/handshake.ts': `import type { Ticker } from '../realtime/ticker.js';\nexport type Handshake = Ticker;\n`,
  'src/http/route.ts': `import type { SocketDelivery } from '../realtime/socket-delivery.js';\nexport type Route = SocketDelivery;\n`,
  'src/http/good-route.ts': [
    `import type { Entry } from '../rooms/room-entry.js';`,
    `import type { Caller } from '../auth/caller.js';`,
    `export type GoodRoute = [Entry, Caller];`,
  ].join('\n'),
  'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true }, include: ['src'] }),
};

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'focusroom-layers-shared-'));
  for (const [path, text] of Object.entries(FILES)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
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

describe('layer rules: rooms/ and auth/ below both transports', () => {
  it('fails when rooms/ or auth/ reach a transport, or http/ reaches realtime/; shared code below both passes', async () => {
    const { code, out } = await cruise(dir);
    expect(code, out).not.toBe(0);
    expect(out).toMatch(/error rooms-below-transports: src\/rooms\/room-service\.ts → src\/realtime\/ticker\.ts/);
    expect(out).toMatch(/error rooms-below-transports: src\/rooms\/room-service\.ts → src\/auth\/caller\.ts/);
    expect(out).toMatch(/error auth-below-transports: src\/auth\/handshake\.ts → src\/realtime\/ticker\.ts/);
    expect(out).toMatch(/error http-not-sockets: src\/http\/route\.ts → src\/realtime\/socket-delivery\.ts/);
    // realtime/ implementing the rooms/ interface, and an HTTP route using rooms/ and auth/, are the intended shape.
    expect(out).not.toMatch(/src\/realtime\/socket-delivery\.ts →/);
    expect(out).not.toMatch(/src\/http\/good-route\.ts →/);
    expect(out).not.toMatch(/src\/rooms\/room-entry\.ts →/);
  }, 90_000);
});
