/**
 * Every code block of README.md runs as written: the SDK example in Node and in Chromium
 * against a real server, the curl flow with bash and curl (only the server address and the
 * two placeholder values, the seat's token and room code, are the test's own), and each
 * command of the remaining shell blocks is run by the test or script named for it. A block
 * this file does not know fails it, so a new snippet comes with its check.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, connect, waitFor } from '../helpers/client.js';
import { useSharedServer } from '../helpers/server.js';
import { type CodeBlock, codeBlocks, DOCS_SERVER, runNodeSnippet } from '../helpers/snippets.js';

const server = useSharedServer();
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const blocks = codeBlocks(README);
const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium'].find((p): p is string => Boolean(p && existsSync(p)));

/** Commands of the other shell blocks, and what runs each exactly so. */
const RUN_ELSEWHERE: Record<string, { by: string; contains: string } | { notRun: string }> = {
  'npm install && npm start': { by: 'test/integration/start-many.test.ts', contains: "'start'" },
  'npm test': { by: '.ci/run', contains: 'npm test' },
  // The deploy pass (npm run test:deploy, run by .ci/run) does these with podman.
  'cp .env.example .env': { by: 'test/deploy/compose.test.ts', contains: "join(ROOT, '.env.example')" },
  'scripts/self-signed-cert.sh': { by: 'test/deploy/compose.test.ts', contains: "'self-signed-cert.sh'" },
  'docker compose up -d --build': { by: 'test/deploy/compose.test.ts', contains: "compose(['up', '-d'])" },
  'docker build -t focusroom .': { by: 'test/deploy/podman.ts', contains: "'-t', IMAGE, '.'" },
  'docker run -p 3000:3000 -v focusroom-data:/app/data -e CORS_ORIGINS=https://your.app focusroom': { by: 'test/deploy/image.test.ts', contains: '`${volume}:/app/data`' },
};
const commandsOf = (b: CodeBlock) =>
  b.code
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l && !l.startsWith('#'));
const isSdk = (b: CodeBlock) => b.lang === 'js';
const isCurl = (b: CodeBlock) => b.lang === 'sh' && b.code.includes('curl ');
const isDiagram = (b: CodeBlock) => b.lang === '' && !/^\s*(npm|node|curl|docker)\b/m.test(b.code);

/** An app folder whose node_modules has @focusroom/client (built from src/client for this file) and socket.io-client. */
let app: string;
beforeAll(async () => {
  app = mkdtempSync(join(tmpdir(), 'readme-app-'));
  const pkg = join(app, 'node_modules/@focusroom/client');
  mkdirSync(pkg, { recursive: true });
  copyFileSync(join(ROOT, 'packages/client/package.json'), join(pkg, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules/socket.io-client'), join(app, 'node_modules/socket.io-client'), 'dir');
  // Its own build: the package's own dist/ may be rebuilt meanwhile by client-package.test.ts.
  await promisify(execFile)(process.execPath, ['packages/client/scripts/build.mjs', '--out', join(pkg, 'dist')], { cwd: ROOT });
}, 120_000);
afterAll(() => rmSync(app, { recursive: true, force: true }));

describe('README.md code blocks', () => {
  it('every block is one this test runs or knows who runs', () => {
    for (const b of blocks) {
      if (isSdk(b) || isCurl(b) || isDiagram(b)) continue;
      expect(b.lang, `README.md:${b.line}`).toBe('sh');
      for (const cmd of commandsOf(b)) {
        const where = RUN_ELSEWHERE[cmd];
        expect(where, `README.md:${b.line}: \`${cmd}\` is run by nothing this test knows`).toBeDefined();
        if (where && 'by' in where) expect(readFileSync(join(ROOT, where.by), 'utf8')).toContain(where.contains);
      }
    }
    expect(blocks.filter(isSdk)).toHaveLength(1);
    expect(blocks.filter(isCurl)).toHaveLength(1);
  });

  it('the SDK example runs as written in Node (storage: localStorage falls back to memory there)', async () => {
    const sdk = blocks.find(isSdk)!;
    expect(sdk.code).toContain("storage: 'localStorage'");
    const res = await runNodeSnippet(sdk.code, { dir: app, url: server.url, until: [/^\d+ s left$/m] });
    expect(res.out).toMatch(/^share this code: [A-Z0-9]{6}$/m);
    expect(res.out).toMatch(/^1[45]\d\d s left$/m); // 25 minutes, not yet counting down
    expect(res.out).not.toMatch(/Error|not available|undefined/);
  }, 30_000);

  it.skipIf(!CHROMIUM)('the SDK example runs as written in Chromium (the package\'s browser module, localStorage)', async () => {
    const sdk = blocks.find(isSdk)!;
    const browser = await chromium.launch({ executablePath: CHROMIUM!, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-features=LocalNetworkAccessChecks'] });
    try {
      const page = await browser.newPage();
      const logs: string[] = [];
      page.on('console', (m) => logs.push(m.text()));
      page.on('pageerror', (e) => logs.push(`pageerror ${e.message}`));
      const bundle = readFileSync(join(app, 'node_modules/@focusroom/client/dist/browser/focusroom-client.js'), 'utf8');
      // A page of the server's origin, made here: an import map names the package, the block is the module.
      await page.route(`${server.url}/readme-example.html`, (r) =>
        r.fulfill({
          contentType: 'text/html',
          body: `<!doctype html><script type="importmap">{"imports":{"@focusroom/client":"/readme-client.js"}}</script><script type="module">${sdk.code.replaceAll(DOCS_SERVER, server.url)}</script>`,
        }),
      );
      await page.route(`${server.url}/readme-client.js`, (r) => r.fulfill({ contentType: 'text/javascript', body: bundle }));
      await page.goto(`${server.url}/readme-example.html`);
      await expect.poll(() => logs.join('\n'), { timeout: 10_000 }).toMatch(/\d+ s left/);
      expect(logs.join('\n')).toMatch(/share this code: [A-Z0-9]{6}/);
      expect(logs.join('\n')).not.toMatch(/pageerror|Error/);
      expect(await page.evaluate('JSON.parse(localStorage.getItem("focusroom.seat") ?? "null")?.room_code')).toMatch(/^[A-Z0-9]{6}$/);
    } finally {
      await browser.close();
    }
  }, 40_000);

  it('the curl flow runs as written: the task is added, ticked off, and in the history; the room hears it', async () => {
    const curl = blocks.find(isCurl)!;
    const host = await connect(server.url);
    const created = await call(host, 'create_session', { user_name: 'Bot' });
    // Ten earlier changes, so the README's `after=10` and `seq: 12` are this room's.
    for (let i = 0; i < 10; i++) await call(host, 'add_task', { title: `earlier ${i}` });
    const script = curl.code
      .replaceAll(DOCS_SERVER, server.url)
      .replace(/^TOKEN=.*$/m, `TOKEN=${created.resume_token}`)
      .replace(/^ROOM=.*$/m, `ROOM=${created.room_code}`);
    const heard = waitFor(host, 'task_updated', 10_000);
    const dir = mkdtempSync(join(tmpdir(), 'readme-curl-'));
    try {
      const out = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
        let text = '';
        child.stdout.on('data', (d) => (text += d));
        child.stderr.on('data', (d) => (text += d));
        child.on('exit', (code) => resolve({ code, out: text }));
      });
      expect(out.code, out.out).toBe(0);
      expect((await heard).task).toMatchObject({ title: 'Ship the release notes', done: true });
      expect(out.out).toMatch(/"complete":true/);
      expect(out.out).toContain('"seq":12}');
      expect(out.out).toContain('"event":"task_updated"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

