/**
 * Offline checks of the deployment files (Dockerfile, docker-compose.yml,
 * deploy/haproxy.cfg). Each check is a pure function of the file's text that
 * returns a list of problems (empty = fine), so tests can feed it broken input;
 * scripts/lint-deploy.mjs runs them against the real files.
 *
 * Two kinds of checks:
 *  - the linters (dockerfile-utils' validate, dclint): syntax and best practice;
 *  - the design's requirements (README "Deployment", docs/scaling.md) that no linter knows about:
 *    multi-stage, non-root, HEALTHCHECK on /health, init/STOPSIGNAL, prod deps
 *    only, redis + >= 2 replicas + a load balancer on 3000, health-checked
 *    round-robin with sticky cookies and a WebSocket tunnel timeout.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validate } from 'dockerfile-utils';
import { parseDocument } from 'yaml';
import { serverNodeFlags } from './node-flags.mjs';

export { serverNodeFlags };

const HERE = dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------------------
// Dockerfile

/**
 * Splits a Dockerfile into instructions: continuation lines joined, comments
 * and blank lines dropped. Returns [{ keyword, args, line }] (line is 1-based).
 * @param {string} text
 */
export function parseDockerfile(text) {
  const lines = text.split(/\r?\n/);
  /** @type {{ keyword: string; args: string; line: number }[]} */
  const out = [];
  let buf = '';
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = /** @type {string} */ (lines[i]);
    const trimmed = raw.trim();
    // Comment lines (also inside a continuation) and parser directives are skipped.
    if (trimmed.startsWith('#')) continue;
    if (buf === '' && trimmed === '') continue;
    if (buf === '') start = i + 1;
    if (trimmed.endsWith('\\')) {
      buf += trimmed.slice(0, -1) + ' ';
      continue;
    }
    buf += trimmed;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(buf.trim());
    if (m) out.push({ keyword: /** @type {string} */ (m[1]).toUpperCase(), args: (m[2] ?? '').trim(), line: start });
    buf = '';
  }
  if (buf.trim() !== '') {
    const m = /^(\S+)\s*([\s\S]*)$/.exec(buf.trim());
    if (m) out.push({ keyword: /** @type {string} */ (m[1]).toUpperCase(), args: (m[2] ?? '').trim(), line: start });
  }
  return out;
}

/**
 * dockerfile-utils' validator. Severity 1 = error, 2 = warning (LSP).
 * @param {string} text
 * @returns {{ errors: string[]; warnings: string[] }}
 */
export function lintDockerfile(text) {
  const errors = [];
  const warnings = [];
  for (const d of validate(text)) {
    const msg = `Dockerfile:${d.range.start.line + 1}: ${d.message}`;
    if (d.severity === 1) errors.push(msg);
    else warnings.push(msg);
  }
  return { errors, warnings };
}

/**
 * The Dockerfile's CMD and `npm start` must start node with the same flags (GC sizing,
 * V8 thread pool: measured in docs/performance.md, and what `npm run bench` runs with).
 * @param {string} dockerfile
 * @param {string} startScript package.json's scripts.start
 * @returns {string[]}
 */
export function checkNodeFlags(dockerfile, startScript) {
  const cmd = parseDockerfile(dockerfile).filter((i) => i.keyword === 'CMD').at(-1);
  const inDocker = cmd ? serverNodeFlags(cmd.args) : null;
  const inStart = serverNodeFlags(startScript);
  if (!inDocker) return ['Dockerfile CMD does not run `node [flags] dist/server.js`'];
  if (!inStart) return ['package.json "start" does not run `node [flags] dist/server.js`'];
  if (inDocker.join(' ') !== inStart.join(' ')) {
    return [`node flags differ: Dockerfile CMD "${inDocker.join(' ')}" vs npm start "${inStart.join(' ')}"`];
  }
  return [];
}

/**
 * package.json builds at install (`prepare`: tsc), which needs the dev dependencies and
 * the sources: in the image every `npm ci` / `npm install` must pass `--ignore-scripts`
 * (the build stage runs `npm run build` itself, and `--omit=dev` has no tsc at all).
 * @param {string} dockerfile
 * @param {Record<string, string>} scripts package.json's scripts
 * @returns {string[]}
 */
export function checkInstallScripts(dockerfile, scripts) {
  const lifecycle = ['preinstall', 'install', 'postinstall', 'prepare'].filter((k) => scripts[k]);
  if (lifecycle.length === 0) return [];
  return parseDockerfile(dockerfile)
    .filter((i) => i.keyword === 'RUN' && /\bnpm\s+(ci|install|i)\b/.test(i.args) && !/--ignore-scripts\b/.test(i.args))
    .map((i) => `Dockerfile: \`RUN ${i.args.split(/\s*&&\s*/)[0]}\` runs package.json's ${lifecycle.join('/')} (a tsc build): add --ignore-scripts`);
}

/**
 * Start-up must not build: several `npm start` from one checkout at once raced on dist/.
 * A `prestart`/`start` that runs tsc or `npm run build` is refused.
 * @param {Record<string, string>} scripts
 * @returns {string[]}
 */
export function checkStartDoesNotBuild(scripts) {
  return ['prestart', 'start']
    .filter((k) => scripts[k] && /\btsc\b|\bnpm\s+run\s+build\b/.test(scripts[k]))
    .map((k) => `package.json "${k}" builds (${scripts[k]}): build at install (prepare) or explicitly, never at start`);
}

const ROOT_USERS = new Set(['root', '0']);

/**
 * The design's Dockerfile requirements. Returns problems (empty = ok).
 * @param {string} text
 * @returns {string[]}
 */
export function checkDockerfile(text) {
  const problems = [];
  const ins = parseDockerfile(text);
  const froms = ins.filter((i) => i.keyword === 'FROM');
  if (froms.length < 2) {
    problems.push(`Dockerfile must be multi-stage (>= 2 FROM), found ${froms.length}`);
  }
  const lastFrom = ins.findLastIndex((i) => i.keyword === 'FROM');
  let final = ins.slice(lastFrom + 1);
  // A final stage that copies another stage's whole filesystem (`FROM scratch` +
  // `COPY --from=X / /`, one layer) holds what X holds: check X's instructions with it.
  const whole = final.find((i) => i.keyword === 'COPY' && /--from=\S+\s+\/\s+\/$/.test(i.args));
  if (whole) {
    const name = /--from=(\S+)/.exec(whole.args)?.[1]?.toLowerCase() ?? '';
    const at = ins.findIndex((i) => i.keyword === 'FROM' && new RegExp(`\\bAS\\s+${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`, 'i').test(i.args));
    if (at >= 0) {
      const end = ins.findIndex((i, k) => k > at && i.keyword === 'FROM');
      final = [...ins.slice(at + 1, end), ...final];
    }
  }
  const finalOf = (/** @type {string} */ kw) => final.filter((i) => i.keyword === kw);
  const lastOf = (/** @type {string} */ kw) => finalOf(kw).at(-1);

  // Non-root user in the final stage (the last USER wins).
  const user = lastOf('USER');
  if (!user) {
    problems.push('final stage has no USER: the container would run as root');
  } else {
    const name = user.args.split(':')[0]?.trim() ?? '';
    if (ROOT_USERS.has(name)) problems.push(`final stage USER is root ("${user.args}")`);
  }

  // HEALTHCHECK on /health.
  const hc = lastOf('HEALTHCHECK');
  if (!hc) problems.push('final stage has no HEALTHCHECK');
  else if (/^NONE\b/i.test(hc.args)) problems.push('HEALTHCHECK is NONE');
  else if (!hc.args.includes('/health')) problems.push('HEALTHCHECK does not hit /health');
  else if (/\bcurl\b|\bwget\b/.test(hc.args)) {
    problems.push('HEALTHCHECK uses curl/wget, which slim images lack: use node itself');
  }

  // SIGTERM must reach node: an init (tini/dumb-init) or an explicit STOPSIGNAL.
  const entry = [lastOf('ENTRYPOINT')?.args ?? '', lastOf('CMD')?.args ?? ''].join(' ');
  const hasInit = /\b(tini|dumb-init)\b/.test(entry);
  const stop = lastOf('STOPSIGNAL');
  if (!hasInit && !stop) {
    problems.push('neither an init (tini) in ENTRYPOINT nor a STOPSIGNAL: SIGTERM may not reach node');
  }
  if (stop && !/^(SIGTERM|15)$/i.test(stop.args)) {
    problems.push(`STOPSIGNAL is ${stop.args}; the server shuts down gracefully on SIGTERM`);
  }

  // The start command: node dist/server.js, never npm (prestart rebuilds; npm eats signals).
  const cmd = lastOf('CMD');
  if (!cmd) problems.push('final stage has no CMD');
  else if (!cmd.args.includes('dist/server.js')) problems.push('CMD does not run dist/server.js');
  if (/\bnpm\b|\byarn\b|\bpnpm\b/.test(entry)) {
    problems.push('ENTRYPOINT/CMD runs a package manager: run `node dist/server.js` directly');
  }

  // Production dependencies only.
  const runs = ins.filter((i) => i.keyword === 'RUN').map((i) => i.args);
  if (!runs.some((r) => /\bnpm\s+(ci|install|prune)\b[^&|;]*--omit[= ]dev\b/.test(r))) {
    problems.push('no `npm ci --omit=dev` (or prune --omit=dev): dev dependencies would ship');
  }
  // node_modules copied into the final stage must come from a stage that installed (or
  // pruned to) production dependencies only.
  /** @type {Map<string, string[]>} stage name -> its RUN lines */
  const stageRuns = new Map();
  let current = '';
  for (const i of ins) {
    if (i.keyword === 'FROM') current = /\bAS\s+(\S+)\s*$/i.exec(i.args)?.[1]?.toLowerCase() ?? '';
    else if (i.keyword === 'RUN' && current) stageRuns.set(current, [...(stageRuns.get(current) ?? []), i.args]);
  }
  for (const c of finalOf('COPY')) {
    const from = /--from=(\S+)/.exec(c.args)?.[1]?.toLowerCase();
    if (!from || !/node_modules/.test(c.args)) continue;
    if (!(stageRuns.get(from) ?? []).some((r) => /\bnpm\s+(ci|install|prune)\b[^&|;]*--omit[= ]dev\b/.test(r))) {
      problems.push(`final stage copies node_modules from stage "${from}", which did not install with --omit=dev (nor prune)`);
    }
  }

  // Environment and port.
  const envs = finalOf('ENV').map((e) => e.args);
  if (!envs.some((e) => /\bNODE_ENV[= ]"?production"?/.test(e))) {
    problems.push('final stage lacks ENV NODE_ENV=production');
  }
  if (!finalOf('EXPOSE').some((e) => /(^|\s)3000(\/tcp)?(\s|$)/.test(e.args))) {
    problems.push('final stage does not EXPOSE 3000');
  }
  if (!finalOf('COPY').some((c) => /\bdist\b/.test(c.args))) problems.push('final stage does not copy dist/');
  if (!finalOf('COPY').some((c) => /\bpublic\b/.test(c.args))) problems.push('final stage does not copy public/');
  return problems;
}

// ---------------------------------------------------------------------------
// docker-compose.yml

/**
 * dclint via its Node API, every rule at its default level.
 * @param {string} file path of the compose file
 * @returns {Promise<{ errors: string[]; warnings: string[] }>}
 */
export async function lintCompose(file) {
  const { DCLinter } = await import('dclint');
  const linter = new DCLinter({ rules: {}, quiet: false, debug: false, exclude: [] });
  const errors = [];
  const warnings = [];
  for (const result of linter.lintFiles([file], false)) {
    for (const m of result.messages) {
      const msg = `${file}:${m.line}: ${m.message} (${m.rule})`;
      if (m.type === 'error') errors.push(msg);
      else warnings.push(msg);
    }
  }
  return { errors, warnings };
}

/** @param {unknown} v @returns {v is Record<string, any>} */
const isObj = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Environment as a map, from either the map or the KEY=VAL list form. */
function envMap(/** @type {unknown} */ env) {
  /** @type {Record<string, string>} */
  const out = {};
  if (Array.isArray(env)) {
    for (const e of env) {
      const s = String(e);
      const eq = s.indexOf('=');
      if (eq > 0) out[s.slice(0, eq)] = s.slice(eq + 1);
      else out[s] = '';
    }
  } else if (isObj(env)) {
    for (const [k, v] of Object.entries(env)) out[k] = v == null ? '' : String(v);
  }
  return out;
}

/** Published host ports of a service (short "[ip:]host:container" and long syntax). */
export function publishedPorts(/** @type {unknown} */ ports) {
  /** @type {{ published: string; target: string }[]} */
  const out = [];
  if (!Array.isArray(ports)) return out;
  for (const p of ports) {
    if (isObj(p)) {
      if (p.published != null) out.push({ published: String(p.published), target: String(p.target) });
      continue;
    }
    const s = String(p).replace(/\/(tcp|udp)$/, '');
    // Strip an IPv6 [..] or IPv4 host part, then host:container.
    const parts = s.replace(/^\[[^\]]*\]:/, '').split(':');
    if (parts.length >= 2) {
      out.push({ published: /** @type {string} */ (parts[parts.length - 2]), target: /** @type {string} */ (parts[parts.length - 1]) });
    }
  }
  return out;
}

function dependsOn(/** @type {unknown} */ dep) {
  /** @type {Record<string, string>} */
  const out = {};
  if (Array.isArray(dep)) for (const d of dep) out[String(d)] = 'service_started';
  else if (isObj(dep)) {
    for (const [k, v] of Object.entries(dep)) out[k] = isObj(v) ? String(v.condition ?? '') : '';
  }
  return out;
}

const LB_IMAGE = /(^|\/)(haproxy|nginx|traefik|envoy|caddy)(:|$)/;
const SECRET_KEY = /PASSWORD|SECRET|TOKEN/;

/**
 * Compose's variable interpolation as far as a check needs it: `${X:-d}` / `${X-d}` give
 * the default, `${X}` / `${X:?err}` a `<X>` placeholder (set from .env at deploy time).
 * @param {unknown} v
 * @returns {any}
 */
function interpolate(v) {
  if (typeof v === 'string') {
    return v.replace(/\$\$/g, '\u0000').replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*)|:?\?[^}]*)?\}/g, (_m, name, def) => (def !== undefined ? def : `<${name}>`)).replace(/\u0000/g, '$');
  }
  if (Array.isArray(v)) return v.map(interpolate);
  if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, interpolate(x)]));
  return v;
}

/** Volume entries as `source:target[:mode]` strings (short or long syntax). */
function volumeList(/** @type {unknown} */ vols) {
  return Array.isArray(vols) ? vols.map((v) => (isObj(v) ? `${v.source}:${v.target}:${v.read_only ? 'ro' : 'rw'}` : String(v))) : [];
}

/**
 * podman-compose 1.0.3 joins a `["CMD", ...]` healthcheck into one shell string, so an
 * argument with quotes or parentheses breaks it (/work/shared/container/README.md):
 * such checks must be written `["CMD-SHELL", "..."]`.
 * @param {string} name @param {unknown} hc
 */
function healthcheckProblems(name, hc) {
  if (!isObj(hc) || !Array.isArray(hc.test)) return [];
  const [kind, ...args] = hc.test.map(String);
  if (kind === 'CMD' && args.some((a) => /["'()|&;<>$`\s]/.test(a))) {
    return [`service "${name}" healthcheck ["CMD", ...] has an argument with quotes, parentheses or spaces: podman-compose joins CMD into one shell line and breaks it; write ["CMD-SHELL", "..."]`];
  }
  if (kind === 'CMD-SHELL' && args.length !== 1) return [`service "${name}" healthcheck CMD-SHELL takes exactly one string`];
  return [];
}

/**
 * What the compose file must hold (the production deploy for one VM).
 * Returns problems (empty = ok).
 * @param {string} text contents of docker-compose.yml
 * @returns {string[]}
 */
export function checkCompose(text) {
  const problems = [];
  const doc = parseDocument(text, { merge: true });
  if (doc.errors.length > 0) return doc.errors.map((e) => `docker-compose.yml: ${e.message}`);
  const raw = doc.toJS();
  const rawServices = isObj(raw) && isObj(raw.services) ? raw.services : {};
  const services = interpolate(rawServices);
  // podman-compose 1.0.3 substitutes `${X:-d}` only for a non-empty d: `${X:-}` reaches the
  // container as that literal text (a 17-character AUTH_JWT_SECRET, a bad WEBHOOK_URL).
  for (const m of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):?-\}/g)) {
    problems.push(`\${${m[1]}:-} (an empty default) is passed literally by podman-compose: write \${${m[1]}} (blank in .env.example)`);
  }

  for (const [n, s] of Object.entries(services)) {
    if (isObj(s)) problems.push(...healthcheckProblems(n, s.healthcheck));
    // Secrets come from .env (`${VAR}`), never a literal in the committed file.
    const env = envMap(isObj(rawServices[n]) ? rawServices[n].environment : undefined);
    for (const [k, v] of Object.entries(env)) {
      if (SECRET_KEY.test(k) && v !== '' && !/\$\{[A-Za-z_]/.test(v)) problems.push(`service "${n}" sets ${k} to a literal: secrets come from .env (\${${k}})`);
    }
  }

  const redisNames = Object.keys(services).filter((n) => /(^|\/)redis(:|$)/.test(String(services[n]?.image ?? '')));
  if (redisNames.length === 0) problems.push('compose has no redis service (image redis:...)');
  for (const n of redisNames) {
    if (!isObj(services[n].healthcheck)) problems.push(`redis service "${n}" has no healthcheck`);
    // Rooms survive a Redis restart only with an append-only file on a volume (docs/reliability.md).
    const command = Array.isArray(services[n].command) ? services[n].command.join(' ') : String(services[n].command ?? '');
    if (!/--appendonly\s+yes\b/.test(command)) problems.push(`redis service "${n}" does not persist (needs --appendonly yes)`);
    if (!/--appendfsync\s+everysec\b/.test(command)) problems.push(`redis service "${n}" lacks --appendfsync everysec`);
    if (!volumeList(services[n].volumes).some((v) => /:\/data(:|$)/.test(v))) problems.push(`redis service "${n}" has no volume on /data: the append-only file would die with the container`);
  }

  const pgNames = Object.keys(services).filter((n) => /(^|\/)postgres(:|$)/.test(String(services[n]?.image ?? '')));
  if (pgNames.length === 0) problems.push('compose has no postgres service (image postgres:...): results need a store of record');
  for (const n of pgNames) {
    if (!isObj(services[n].healthcheck)) problems.push(`postgres service "${n}" has no healthcheck`);
    if (!volumeList(services[n].volumes).some((v) => /:\/var\/lib\/postgresql(\/data)?(:|$)/.test(v))) {
      problems.push(`postgres service "${n}" has no volume on /var/lib/postgresql/data: the results would die with the container`);
    }
  }

  const apps = Object.keys(services).filter((n) => services[n]?.build != null);
  if (apps.length < 2) problems.push(`compose needs >= 2 app replicas built from the Dockerfile, found ${apps.length}`);
  const ids = new Map();
  for (const n of apps) {
    const s = services[n];
    const env = envMap(s.environment);
    if (!env.REDIS_URL) problems.push(`app service "${n}" has no REDIS_URL`);
    else if (redisNames.length > 0 && !redisNames.some((r) => env.REDIS_URL?.includes(`//${r}:`))) {
      problems.push(`app service "${n}" REDIS_URL (${env.REDIS_URL}) does not point at the redis service`);
    }
    if (!env.DATABASE_URL) problems.push(`app service "${n}" has no DATABASE_URL: results would not be kept`);
    else if (pgNames.length > 0 && !pgNames.some((r) => new RegExp(`@${r}(:|/)`).test(env.DATABASE_URL ?? ''))) {
      problems.push(`app service "${n}" DATABASE_URL does not point at the postgres service`);
    }
    if (!env.INSTANCE_ID) problems.push(`app service "${n}" has no INSTANCE_ID`);
    else if (ids.has(env.INSTANCE_ID)) {
      problems.push(`app services "${ids.get(env.INSTANCE_ID)}" and "${n}" share INSTANCE_ID ${env.INSTANCE_ID}`);
    } else ids.set(env.INSTANCE_ID, n);
    const deps = dependsOn(s.depends_on);
    if (!redisNames.some((r) => deps[r] === 'service_healthy')) {
      problems.push(`app service "${n}" does not depend on redis with condition service_healthy`);
    }
    if (pgNames.length > 0 && !pgNames.some((r) => deps[r] === 'service_healthy')) {
      problems.push(`app service "${n}" does not depend on postgres with condition service_healthy`);
    }
    if (!isObj(s.healthcheck) && s.healthcheck !== undefined) problems.push(`app service "${n}" healthcheck is malformed`);
    if (isObj(s.healthcheck) && s.healthcheck.disable === true) problems.push(`app service "${n}" disables its healthcheck`);
    if (isObj(s.healthcheck) && !JSON.stringify(s.healthcheck.test ?? '').includes('/health')) {
      problems.push(`app service "${n}" healthcheck does not hit /health`);
    }
  }

  const lbs = Object.keys(services).filter((n) => LB_IMAGE.test(String(services[n]?.image ?? '')));
  if (lbs.length === 0) problems.push('compose has no load balancer service (haproxy/nginx image)');
  for (const port of ['443', '80']) {
    const publishing = lbs.filter((n) => publishedPorts(services[n].ports).some((p) => p.published === port && p.target === port));
    if (lbs.length > 0 && publishing.length === 0) problems.push(`no load balancer service publishes port ${port} (${port === '443' ? 'HTTPS' : 'HTTP, redirected to HTTPS'})`);
  }
  for (const n of apps) {
    if (publishedPorts(services[n].ports).length > 0) {
      problems.push(`app service "${n}" publishes ports: traffic must go through the load balancer`);
    }
  }
  for (const n of lbs.filter((l) => /haproxy/.test(String(services[l].image)))) {
    const vols = volumeList(services[n].volumes);
    if (!vols.some((v) => /deploy\/haproxy\.cfg:[^:]+:ro$/.test(v))) {
      problems.push(`load balancer "${n}" does not mount deploy/haproxy.cfg read-only`);
    }
    if (!vols.some((v) => /deploy\/tls\/?:[^:]+:ro$/.test(v))) {
      problems.push(`load balancer "${n}" does not mount deploy/tls (the certificate) read-only`);
    }
  }
  return problems;
}

/** App service names (those built from the Dockerfile). */
export function composeAppServices(/** @type {string} */ text) {
  const root = parseDocument(text, { merge: true }).toJS();
  const services = isObj(root) && isObj(root.services) ? root.services : {};
  return Object.keys(services).filter((n) => services[n]?.build != null);
}

// ---------------------------------------------------------------------------
// haproxy.cfg

/**
 * The design's load-balancer requirements. `appServices` (from the compose
 * file) must each appear as a checked server. Returns problems (empty = ok).
 * @param {string} text contents of deploy/haproxy.cfg
 * @param {string[]} [appServices]
 * @returns {string[]}
 */
export function checkHaproxyConfig(text, appServices = []) {
  const problems = [];
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.replace(/(^|\s)#.*$/, '').trim())
    .filter(Boolean);
  const has = (/** @type {RegExp} */ re) => lines.some((l) => re.test(l));
  if (!has(/^mode\s+http$/)) problems.push('haproxy: no `mode http`');
  if (!has(/^timeout\s+tunnel\s+\S+/)) problems.push('haproxy: no `timeout tunnel` (WebSockets would be cut at `timeout client/server`)');
  if (!has(/^option\s+httpchk\b.*\/health\b/) && !(has(/^option\s+httpchk\b/) && has(/^http-check\s+send\b.*uri\s+\/health\b/))) {
    problems.push('haproxy: no `option httpchk GET /health`');
  }
  if (!has(/^http-check\s+expect\s+status\s+200\b/)) problems.push('haproxy: no `http-check expect status 200`');
  if (!has(/^balance\s+roundrobin$/)) problems.push('haproxy: no `balance roundrobin`');
  if (!has(/^cookie\s+\S+\s+.*\binsert\b/)) problems.push('haproxy: no sticky `cookie ... insert` (needed for long-polling)');
  // TLS terminated here: a certificate file on :443, plain :80 only redirects.
  if (!has(/^bind\s+\S*:443\s+.*\bssl\b.*\bcrt\s+\S+/)) problems.push('haproxy: nothing binds :443 with `ssl crt <file>` (TLS)');
  if (!has(/^bind\s+\S*:80(\s|$)/)) problems.push('haproxy: nothing binds :80 (to redirect HTTP to HTTPS)');
  if (!has(/^http-request\s+redirect\s+scheme\s+https\b/)) problems.push('haproxy: no `http-request redirect scheme https` (HTTP must go to HTTPS)');
  const servers = lines.filter((l) => /^server\s/.test(l));
  const defaultServer = lines.filter((l) => /^default-server\s/.test(l)).join(' ');
  for (const s of servers) {
    if (!/\bcheck\b/.test(s) && !/\bcheck\b/.test(defaultServer)) problems.push(`haproxy: server without health check: ${s}`);
  }
  for (const app of appServices) {
    if (!servers.some((s) => new RegExp(`^server\\s+\\S+\\s+${app.replace(/[.]/g, '\\.')}:3000\\b`).test(s))) {
      problems.push(`haproxy: compose app service "${app}" is not a backend server (${app}:3000)`);
    }
  }
  return problems;
}

/**
 * `haproxy -c -f file` when haproxy is installed. Warnings about backend
 * hostnames that only resolve inside Docker are expected; any other warning
 * counts as a problem.
 * @param {string} file
 * @returns {{ skipped: boolean; problems: string[]; output: string }}
 */
export function haproxySyntaxCheck(file) {
  const probe = spawnSync('haproxy', ['-v'], { encoding: 'utf8' });
  if (probe.error && /** @type {NodeJS.ErrnoException} */ (probe.error).code === 'ENOENT') {
    return { skipped: true, problems: [], output: '' };
  }
  // The certificate is mounted at run time and not in the repository: check against a
  // throwaway one (scripts/self-signed-cert.sh) at a temp path instead.
  const dir = mkdtempSync(join(tmpdir(), 'focusroom-haproxy-c-'));
  try {
    let text = readFileSync(file, 'utf8');
    const crts = [...text.matchAll(/(\bcrt\s+)(\S+)/g)];
    if (crts.length > 0) {
      const cert = join(dir, 'cert.pem');
      const made = spawnSync('bash', [join(HERE, 'self-signed-cert.sh'), 'localhost', cert], { encoding: 'utf8' });
      if (made.status !== 0) return { skipped: false, problems: [`cannot make a throwaway certificate for haproxy -c: ${made.stderr || made.error}`], output: '' };
      text = text.replace(/(\bcrt\s+)(\S+)/g, `$1${cert}`);
    }
    const copy = join(dir, 'haproxy.cfg');
    writeFileSync(copy, text);
    const res = spawnSync('haproxy', ['-c', '-f', copy], { encoding: 'utf8' });
    const output = `${res.stdout ?? ''}${res.stderr ?? ''}`;
    const problems = [];
    if (res.status !== 0) problems.push(`haproxy -c failed (exit ${res.status}):\n${output.trim()}`);
    for (const line of output.split('\n')) {
      if (/\[(WARNING|ALERT)\]/.test(line) && !/could not resolve address/.test(line)) {
        problems.push(`haproxy -c: ${line.trim()}`);
      }
    }
    return { skipped: false, problems, output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
