// Builds @focusroom/client from the SDK's one source, src/client (and the wire types of
// src/contract it imports), into packages/client/dist:
//   dist/index.js                     ESM for Node and bundlers; socket.io-client stays an import
//   dist/browser/focusroom-client.js  one self-contained ES module for a <script type="module">
//   dist/types/                       declarations, with the zod-derived payload types of
//                                     src/contract/schemas.ts written out as plain types, so
//                                     the package needs no zod, not even for types
//
//   npm run build -w @focusroom/client     (also `npm pack`, via prepack)
//   node packages/client/scripts/build.mjs --out DIR
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import ts from 'typescript';

export const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
export const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const ENTRY = join(REPO, 'src/client/index.ts');
const DIST = join(PACKAGE, 'dist');

/** The JavaScript: an ESM build for Node/bundlers and a standalone browser module. */
async function buildJs(dist) {
  const common = { absWorkingDir: REPO, entryPoints: [ENTRY], bundle: true, format: 'esm', target: 'es2020', legalComments: 'none', logLevel: 'warning' };
  await build({ ...common, platform: 'neutral', outfile: join(dist, 'index.js'), external: ['socket.io-client'] });
  // mainFields: socket.io-client's `browser` build (no Node `ws`), as a bundler would pick it.
  await build({ ...common, platform: 'browser', minify: true, outfile: join(dist, 'browser/focusroom-client.js') });
}

/**
 * The declarations: tsc's for src/client and the contract files it imports, except that a
 * contract file built on zod (schemas.ts, push-schemas.ts, …) is replaced by the types and
 * literal constants it exports, its types expanded by the checker, and events.d.ts's
 * `ClientPayload` (z.input of a schema) reads the expanded `ClientPayloads` instead.
 */
function buildTypes(dist) {
  const out = join(dist, 'types');
  const config = ts.getParsedCommandLineOfConfigFile(join(REPO, 'tsconfig.client.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } });
  const options = { ...config.options, rootDir: join(REPO, 'src'), outDir: out, declaration: true, emitDeclarationOnly: true, noEmit: false, sourceMap: false, declarationMap: false };
  const program = ts.createProgram([ENTRY], options);
  const emitted = program.emit();
  const errors = ts.getPreEmitDiagnostics(program).concat(emitted.diagnostics).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length) throw new Error(ts.formatDiagnostics(errors, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => REPO, getNewLine: () => '\n' }));

  const usesZod = (text) => /['"]zod['"]|\bz\.\w/.test(text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, ''));
  const contractOut = join(out, 'contract');
  const zodFiles = readdirSync(contractOut).filter((f) => f !== 'events.d.ts' && usesZod(readFileSync(join(contractOut, f), 'utf8')));

  // One probe file beside the contract sources: each zod-derived type, and each client
  // event's payload, as an alias the checker can print in full.
  const probePath = join(REPO, `src/contract/.client-types-probe-${process.pid}.ts`);
  const exportsOf = zodFiles.map((f) => {
    const base = f.replace(/\.d\.ts$/, '');
    const source = readFileSync(join(REPO, 'src/contract', `${base}.ts`), 'utf8');
    const docs = new Map([...source.matchAll(/^(\/\*\*(?:[^*]|\*(?!\/))*\*\/)\nexport type (\w+)\b/gm)].map((m) => [m[2], `${m[1]}\n`]));
    return { file: f, base, docs, aliases: [...source.matchAll(/^export type (\w+)\b/gm)].map((m) => m[1]) };
  });
  const schemas = exportsOf.find((e) => e.base === 'schemas');
  if (!schemas) throw new Error('build-types: src/contract/schemas.ts no longer reached from src/client; update packages/client/scripts/build.mjs');
  const checker0 = program.getTypeChecker();
  const namesType = checker0.getTypeAtLocation(findAlias(program.getSourceFile(join(REPO, 'src/contract/schemas.ts')), 'ClientEventName').name);
  const eventNames = namesType.isUnion() ? namesType.types.map((t) => t.value) : [namesType.value];
  writeFileSync(
    probePath,
    [
      `import type { z } from 'zod';`,
      `import type { CLIENT_EVENT_SCHEMAS } from './schemas.js';`,
      ...exportsOf.flatMap((e, i) => [`import type * as M${i} from './${e.base}.js';`, ...e.aliases.map((a) => `export type M${i}_${a} = M${i}.${a};`)]),
      ...eventNames.map((e) => `export type P_${e} = z.input<(typeof CLIENT_EVENT_SCHEMAS)['${e}']>;`),
    ].join('\n'),
  );
  try {
    const probeProgram = ts.createProgram([probePath], options);
    const checker = probeProgram.getTypeChecker();
    const sf = probeProgram.getSourceFile(probePath);
    const print = (name) => checker.typeToString(checker.getTypeAtLocation(findAlias(sf, name).name), undefined, ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.InTypeAlias);
    exportsOf.forEach((e, i) => {
      // Literal constants (`export declare const MAX = 10;`) are kept as tsc wrote them.
      const literals = readFileSync(join(contractOut, e.file), 'utf8').match(/^export declare const \w+ = [^;]+;$/gm) ?? [];
      const lines = [
        `// Generated by packages/client/scripts/build.mjs from src/contract/${e.base}.ts (zod schemas`,
        '// the server validates with): the types and constants it exports, written out.',
        ...literals,
        ...namedWithin(e.aliases.map((a) => [a, print(`M${i}_${a}`)])).map(([a, text]) => `${e.docs.get(a) ?? ''}export type ${a} = ${text};`),
      ];
      if (e === schemas) {
        lines.push('/** What the client sends for each event: the input type of the schema that validates it. */', 'export interface ClientPayloads {', ...eventNames.map((n) => `  ${n}: ${print(`P_${n}`)};`), '}');
      }
      writeFileSync(join(contractOut, e.file), `${lines.join('\n')}\n`);
    });
  } finally {
    rmSync(probePath, { force: true });
  }

  const eventsDts = join(contractOut, 'events.d.ts');
  let text = readFileSync(eventsDts, 'utf8');
  text = replaceOnce(text, /^import type \{ z \} from 'zod';\n/m, '');
  text = replaceOnce(text, /import type \{ CLIENT_EVENT_SCHEMAS, /, 'import type { ClientPayloads, ');
  text = replaceOnce(text, /= z\.input<\(typeof CLIENT_EVENT_SCHEMAS\)\[E\]>;/, '= ClientPayloads[E];');
  writeFileSync(eventsDts, text);

  for (const file of walk(out)) {
    if (usesZod(readFileSync(file, 'utf8'))) throw new Error(`${relative(PACKAGE, file)} still refers to zod`);
  }
}

/**
 * The checker writes each alias out in full, the types it is made of inlined (a payload
 * repeats the whole session snapshot). Where the full text of one alias appears inside
 * another's, it is replaced by the alias's name: the same type, and declarations a reader
 * can follow. Longest first; aliases of identical text are left as they are.
 */
function namedWithin(entries) {
  const byLength = [...entries].sort((a, b) => b[1].length - a[1].length);
  return entries.map(([name, text]) => {
    let out = text;
    for (const [other, otherText] of byLength) {
      if (other === name || otherText === text || otherText.length >= text.length) continue;
      out = out.split(otherText).join(other);
    }
    return [name, out];
  });
}

function findAlias(sf, name) {
  const found = sf.statements.find((s) => ts.isTypeAliasDeclaration(s) && s.name.text === name);
  if (!found) throw new Error(`type ${name} not found in ${sf.fileName}`);
  return found;
}

function replaceOnce(text, pattern, replacement) {
  if (!pattern.test(text)) throw new Error(`build-types: ${pattern} not found; src/contract changed shape, update packages/client/scripts/build.mjs`);
  return text.replace(pattern, replacement);
}

function* walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else yield p;
  }
}

/**
 * Builds into `dist` (default: packages/client/dist) through a fresh sibling directory that
 * then takes its place, so a build running beside another (two test files) never reads a
 * half-written tree.
 */
export async function buildPackage(dist = DIST) {
  const work = `${dist}.build-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    await buildJs(work);
    buildTypes(work);
    rmSync(dist, { recursive: true, force: true });
    renameSync(work, dist);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // `--out DIR`: build elsewhere (a test's own copy), default packages/client/dist.
  const at = process.argv.indexOf('--out');
  const dist = at > 0 ? process.argv[at + 1] : DIST;
  await buildPackage(dist);
  // stderr: `npm pack --json` keeps stdout for its JSON.
  console.error(`built ${relative(process.cwd(), dist) || 'dist'}`);
}
