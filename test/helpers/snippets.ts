/**
 * Code blocks of the docs, run as written: `codeBlocks` reads a Markdown file's fenced
 * blocks, `runNodeSnippet` runs a JavaScript block as an ES module with Node (only the
 * server address `http://localhost:3000` is pointed at the test's server) until its output
 * shows what the docs promise, then stops it.
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exitOf, trackChild } from './children.js';

export interface CodeBlock {
  lang: string;
  code: string;
  /** 1-based line of the opening fence. */
  line: number;
}

export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i += 1; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    blocks.push({ lang: open[1]!, code: body.join('\n'), line: start + 1 });
  }
  return blocks;
}

export const DOCS_SERVER = 'http://localhost:3000';

export interface SnippetRun {
  code: number | null;
  out: string;
}

/**
 * Runs `code` as `<dir>/.snippet-<n>.mjs` (so its imports resolve from `dir`) with the
 * server address replaced by `url`; resolves when every pattern of `until` has matched the
 * combined output (then the process is killed), when it exits, or after `timeoutMs`.
 */
export async function runNodeSnippet(code: string, opts: { dir: string; url: string; until: RegExp[]; timeoutMs?: number }): Promise<SnippetRun> {
  const file = join(opts.dir, `.snippet-${process.pid}-${Date.now()}.mjs`);
  writeFileSync(file, code.replaceAll(DOCS_SERVER, opts.url));
  const child = trackChild(spawn(process.execPath, [file], { cwd: opts.dir, stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  try {
    return await new Promise<SnippetRun>((resolve) => {
      const done = (c: number | null) => resolve({ code: c, out });
      const check = () => {
        if (opts.until.every((re) => re.test(out))) done(null);
      };
      child.stdout!.on('data', (d) => ((out += d), check()));
      child.stderr!.on('data', (d) => ((out += d), check()));
      child.once('exit', (c) => done(c));
      setTimeout(() => done(null), opts.timeoutMs ?? 15_000).unref();
    });
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exitOf(child);
    rmSync(file, { force: true });
  }
}
