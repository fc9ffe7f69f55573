/**
 * @focusroom/client (packages/client) as an app gets it: `npm pack`, installed into an
 * empty app outside the repository, run against a real server, typechecked with no zod and
 * no server code in reach. Its README's sizes are the ones measured here.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useSharedServer } from '../helpers/server.js';
import { codeBlocks, runNodeSnippet } from '../helpers/snippets.js';

const server = useSharedServer();
const run = promisify(execFile);
const PACKAGE = new URL('../../packages/client/', import.meta.url).pathname;
const README = readFileSync(join(PACKAGE, 'README.md'), 'utf8');

let work: string;
let app: string;
let packed: { size: number; unpackedSize: number; entryCount: number; files: Array<{ path: string }>; filename: string };

function bytesUnder(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += bytesUnder(p);
    else if (e.isFile()) total += statSync(p).size;
  }
  return total;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'focusroom-client-pack-'));
  // prepack builds dist/ from src/client first.
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: PACKAGE, maxBuffer: 16 << 20 });
  packed = JSON.parse(stdout)[0];
  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'an-app', private: true, type: 'module' }));
  // The registry only for what the npm cache lacks (`npm ci` of the repository filled it).
  await run('npm', ['install', join(work, packed.filename), '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: app, maxBuffer: 16 << 20 });
}, 180_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('@focusroom/client, packed and installed into an app', () => {
  it('packs only its build and README; depends on socket.io-client alone; sizes as its README says', () => {
    const paths = packed.files.map((f) => f.path).sort();
    for (const p of paths) expect(p).toMatch(/^(dist\/.+\.(js|d\.ts)|README\.md|package\.json)$/);
    expect(paths).toEqual(expect.arrayContaining(['dist/index.js', 'dist/browser/focusroom-client.js', 'dist/types/client/index.d.ts', 'README.md']));
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules/@focusroom/client/package.json'), 'utf8'));
    expect(Object.keys(manifest.dependencies)).toEqual(['socket.io-client']);

    const lock = JSON.parse(readFileSync(join(app, 'node_modules/.package-lock.json'), 'utf8'));
    const installed = Object.keys(lock.packages).filter((p) => p.startsWith('node_modules/'));
    const names = installed.map((p) => p.slice(p.lastIndexOf('node_modules/') + 'node_modules/'.length));
    for (const server of ['zod', 'fastify', 'socket.io', 'ioredis', 'pg', '@electric-sql/pglite']) expect(names).not.toContain(server);
    const bytes = bytesUnder(join(app, 'node_modules'));
    const gzip = gzipSync(readFileSync(join(app, 'node_modules/@focusroom/client/dist/browser/focusroom-client.js'))).length;
    console.log(`npm pack ${packed.size} B (${packed.entryCount} files, ${packed.unpackedSize} B unpacked); install: ${installed.length} packages, ${bytes} B; browser module ${gzip} B gzip`);

    expect(packed.size).toBeLessThan(60_000);
    expect(installed.length).toBeLessThanOrEqual(12);
    // The README states these (rounded): keep it true.
    expect(README.replace(/\s+/g, ' ')).toContain(`adds ${installed.length} packages`);
    const stated = (re: RegExp) => Number(re.exec(README.replace(/\s+/g, ' '))?.[1]);
    expect(Math.abs(stated(/`npm pack` is (\d+) KB/) - packed.size / 1000)).toBeLessThanOrEqual(3);
    expect(Math.abs(stated(/packages, ([\d.]+) MB on disk/) - bytes / 1e6) / (bytes / 1e6)).toBeLessThan(0.1);
    expect(Math.abs(stated(/module is (\d+) KB gzipped/) - gzip / 1000)).toBeLessThanOrEqual(2);
  });

  it("runs its README's example as written, in the app, against a real server", async () => {
    const blocks = codeBlocks(README).filter((b) => b.lang === 'js');
    expect(blocks).toHaveLength(1);
    const res = await runNodeSnippet(blocks[0]!.code, { dir: app, url: server.url, until: [/Host|Ann: completed/], timeoutMs: 20_000 });
    expect(res.out).toMatch(/^share this code: [A-Z0-9]{6}$/m);
    expect(res.out).toMatch(/^2 s left$/m);
    expect(res.out).toMatch(/^Ann: completed$/m);
  }, 30_000);

  it('typechecks an app against its declarations (strict, library checks on, no zod anywhere)', async () => {
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'], types: [] }, files: ['check.ts'] }),
    );
    writeFileSync(
      join(app, 'check.ts'),
      [
        "import { connect, FocusroomError, type SessionSnapshot, type ParticipantResult } from '@focusroom/client';",
        "const client = connect('http://localhost:3000', { storage: 'memory', ticks: false });",
        "client.on('session_completed', ({ results }) => { const r: ParticipantResult[] = results; void r; });",
        "client.on('change', (s: SessionSnapshot | null) => void s?.room_code.toUpperCase());",
        'export async function main(): Promise<void> {',
        "  const joined = await client.join('ABC234', 'Ann');",
        '  const code: string = joined.room_code;',
        "  await client.updateSettings({ session_duration: 60_000, starts_at: null });",
        "  await client.setStatus('focusing');",
        '  // @ts-expect-error not a status',
        "  await client.setStatus('asleep');",
        '  // @ts-expect-error a duration is a number',
        "  await client.create({ user_name: 'Ann', session_duration: '25 min' });",
        '  void code;',
        '}',
        "export const isSdkError = (e: unknown): boolean => e instanceof FocusroomError && e.code === 'not_host';",
        '',
      ].join('\n'),
    );
    const tsc = new URL('../../node_modules/typescript/bin/tsc', import.meta.url).pathname;
    const res = await run(process.execPath, [tsc, '-p', app]).then(
      () => ({ ok: true, out: '' }),
      (e: { stdout: string }) => ({ ok: false, out: e.stdout }),
    );
    expect(res.out).toBe('');
    expect(res.ok).toBe(true);
  }, 60_000);
});
