#!/usr/bin/env node
/**
 * Offline lint of the deployment files (part of `npm run lint`):
 *   Dockerfile          dockerfile-utils validate + design requirements
 *   docker-compose.yml  dclint + design requirements
 *   deploy/haproxy.cfg  design requirements + `haproxy -c` when haproxy is installed
 * Exits 1 with one line per problem; linter warnings are printed, not fatal.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  checkCompose,
  checkDockerfile,
  checkHaproxyConfig,
  checkInstallScripts,
  checkNodeFlags,
  checkStartDoesNotBuild,
  composeAppServices,
  haproxySyntaxCheck,
  lintCompose,
  lintDockerfile,
} from './deploy-checks.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const rel = (/** @type {string} */ p) => relative(process.cwd(), p) || p;
const files = {
  dockerfile: join(root, 'Dockerfile'),
  compose: join(root, 'docker-compose.yml'),
  haproxy: join(root, 'deploy', 'haproxy.cfg'),
};

/** @type {string[]} */
const failures = [];
/** @type {string[]} */
const warnings = [];
/** @type {string[]} */
const notes = [];

function read(/** @type {string} */ file) {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    failures.push(`${rel(file)}: cannot read (${/** @type {Error} */ (err).message})`);
    return null;
  }
}

const dockerfile = read(files.dockerfile);
if (dockerfile !== null) {
  const lint = lintDockerfile(dockerfile);
  failures.push(...lint.errors);
  warnings.push(...lint.warnings);
  failures.push(...checkDockerfile(dockerfile).map((p) => `Dockerfile: ${p}`));
  const pkg = read(join(root, 'package.json'));
  if (pkg !== null) {
    const scripts = JSON.parse(pkg).scripts ?? {};
    failures.push(...checkNodeFlags(dockerfile, scripts.start ?? ''));
    failures.push(...checkInstallScripts(dockerfile, scripts));
    failures.push(...checkStartDoesNotBuild(scripts).map((p) => `package.json: ${p}`));
  }
}

const compose = read(files.compose);
/** @type {string[]} */
let apps = [];
if (compose !== null) {
  const lint = await lintCompose(files.compose);
  failures.push(...lint.errors.map((e) => e.replace(files.compose, rel(files.compose))));
  warnings.push(...lint.warnings.map((e) => e.replace(files.compose, rel(files.compose))));
  failures.push(...checkCompose(compose).map((p) => `docker-compose.yml: ${p}`));
  try {
    apps = composeAppServices(compose);
  } catch {
    // reported by checkCompose already
  }
}

const haproxy = read(files.haproxy);
if (haproxy !== null) {
  failures.push(...checkHaproxyConfig(haproxy, apps).map((p) => `deploy/haproxy.cfg: ${p}`));
  const syntax = haproxySyntaxCheck(files.haproxy);
  if (syntax.skipped) notes.push('haproxy not installed: skipped `haproxy -c` (apt-get install haproxy to enable)');
  else {
    failures.push(...syntax.problems.map((p) => `deploy/haproxy.cfg: ${p}`));
    if (syntax.problems.length === 0) notes.push('haproxy -c: configuration valid');
  }
}

for (const w of warnings) console.warn(`warning: ${w}`);
for (const n of notes) console.log(`note: ${n}`);
if (failures.length > 0) {
  for (const f of failures) console.error(`error: ${f}`);
  console.error(`lint-deploy: ${failures.length} problem(s)`);
  process.exit(1);
}
console.log(`lint-deploy: ok (Dockerfile, docker-compose.yml, deploy/haproxy.cfg; ${warnings.length} warning(s))`);
