/**
 * The deployment files pass scripts/lint-deploy.mjs (dockerfile-utils, dclint,
 * the design's requirements, `haproxy -c` when installed), and the checks it is
 * built from really fail on files that break the design.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** What scripts/deploy-checks.mjs exports (plain JS, typed here). */
interface DeployChecks {
  checkDockerfile(text: string): string[];
  checkNodeFlags(dockerfile: string, startScript: string): string[];
  checkInstallScripts(dockerfile: string, scripts: Record<string, string>): string[];
  checkStartDoesNotBuild(scripts: Record<string, string>): string[];
  serverNodeFlags(command: string): string[] | null;
  lintDockerfile(text: string): { errors: string[]; warnings: string[] };
  checkCompose(text: string): string[];
  checkHaproxyConfig(text: string, appServices?: string[]): string[];
  composeAppServices(text: string): string[];
  publishedPorts(ports: unknown): { published: string; target: string }[];
}

let checks: DeployChecks;
const read = (p: string) => readFileSync(join(root, p), 'utf8');

beforeAll(async () => {
  // A computed specifier: the .mjs has no type declarations, the interface above types it.
  checks = (await import(pathToFileURL(join(root, 'scripts', 'deploy-checks.mjs')).href)) as DeployChecks;
});

describe('deployment files', () => {
  it('scripts/lint-deploy.mjs passes on the repository files', () => {
    const res = spawnSync(process.execPath, ['scripts/lint-deploy.mjs'], { cwd: root, encoding: 'utf8' });
    expect(res.stderr + res.stdout).toContain('lint-deploy: ok');
    expect(res.status).toBe(0);
  }, 30_000);

  it('the real files satisfy each check directly', () => {
    const compose = read('docker-compose.yml');
    expect(checks.checkDockerfile(read('Dockerfile'))).toEqual([]);
    expect(checks.checkNodeFlags(read('Dockerfile'), JSON.parse(read('package.json')).scripts.start)).toEqual([]);
    expect(checks.checkInstallScripts(read('Dockerfile'), JSON.parse(read('package.json')).scripts)).toEqual([]);
    expect(checks.checkStartDoesNotBuild(JSON.parse(read('package.json')).scripts)).toEqual([]);
    expect(checks.lintDockerfile(read('Dockerfile')).errors).toEqual([]);
    expect(checks.checkCompose(compose)).toEqual([]);
    expect(checks.composeAppServices(compose).length).toBeGreaterThanOrEqual(2);
    expect(checks.checkHaproxyConfig(read('deploy/haproxy.cfg'), checks.composeAppServices(compose))).toEqual([]);
  });
});

describe('the checks fail on broken files', () => {
  const good = () => read('Dockerfile');

  it('Dockerfile without USER (would run as root)', () => {
    const text = good().replace(/^USER .*$/m, '');
    expect(checks.checkDockerfile(text).join('\n')).toMatch(/no USER/);
  });

  it('Dockerfile with USER root in the final stage', () => {
    const text = good().replace(/^USER .*$/m, 'USER root');
    expect(checks.checkDockerfile(text).join('\n')).toMatch(/USER is root/);
  });

  it('single-stage Dockerfile, dev dependencies, no HEALTHCHECK, no init, npm start', () => {
    const text = [
      'FROM node:24-bookworm-slim',
      'WORKDIR /app',
      'COPY . .',
      'RUN npm ci && npm run build',
      'USER node',
      'CMD ["npm", "start"]',
    ].join('\n');
    const problems = checks.checkDockerfile(text).join('\n');
    expect(problems).toMatch(/multi-stage/);
    expect(problems).toMatch(/--omit=dev/);
    expect(problems).toMatch(/no HEALTHCHECK/);
    expect(problems).toMatch(/SIGTERM may not reach node/);
    expect(problems).toMatch(/package manager/);
    expect(problems).toMatch(/NODE_ENV=production/);
  });

  it('Dockerfile CMD and npm start with different node flags', () => {
    const docker = 'FROM a AS b\nFROM c\nCMD ["node", "--max-semi-space-size=64", "dist/server.js"]\n';
    expect(checks.serverNodeFlags('node --a --b=1 dist/server.js')).toEqual(['--a', '--b=1']);
    expect(checks.serverNodeFlags('["node", "--a", "dist/server.js"]')).toEqual(['--a']);
    expect(checks.serverNodeFlags('npm start')).toBeNull();
    expect(checks.checkNodeFlags(docker, 'node --max-semi-space-size=64 dist/server.js')).toEqual([]);
    expect(checks.checkNodeFlags(docker, 'node --max-semi-space-size=64 --v8-pool-size=1 dist/server.js').join('\n')).toMatch(/node flags differ/);
    expect(checks.checkNodeFlags('FROM a\nCMD ["npm", "start"]\n', 'node dist/server.js').join('\n')).toMatch(/Dockerfile CMD does not run/);
  });

  it('HEALTHCHECK that does not hit /health, or uses curl', () => {
    const noHealth = good().replace(/\/health/g, '/ready');
    expect(checks.checkDockerfile(noHealth).join('\n')).toMatch(/does not hit \/health/);
    const curl = good().replace(/CMD \["node", "-e".*\]$/m, 'CMD curl -f http://127.0.0.1:3000/health || exit 1');
    expect(checks.checkDockerfile(curl).join('\n')).toMatch(/curl/);
  });

  it('dockerfile-utils reports syntax errors', () => {
    const { errors } = checks.lintDockerfile('FROM\nHEALTHCHECK --interval=abc CMD true\nSTOPSIGNAL\n');
    expect(errors.length).toBeGreaterThan(0);
  });

  it('compose with one replica, no redis healthcheck, no TLS load balancer, no PostgreSQL', () => {
    const text = `
services:
  app1:
    build: .
    environment:
      REDIS_URL: redis://redis:6379
      INSTANCE_ID: app1
  lb:
    image: haproxy:3.0-alpine
    ports:
      - '127.0.0.1:8080:3000'
  redis:
    image: redis:7-alpine
`;
    const problems = checks.checkCompose(text).join('\n');
    expect(problems).toMatch(/>= 2 app replicas/);
    expect(problems).toMatch(/redis service "redis" has no healthcheck/);
    expect(problems).toMatch(/depend on redis with condition service_healthy/);
    expect(problems).toMatch(/publishes port 443/);
    expect(problems).toMatch(/publishes port 80\b/);
    expect(problems).toMatch(/haproxy\.cfg read-only/);
    expect(problems).toMatch(/deploy\/tls \(the certificate\) read-only/);
    expect(problems).toMatch(/no postgres service/);
    expect(problems).toMatch(/app service "app1" has no DATABASE_URL/);
  });

  it('compose with a literal secret, a PostgreSQL without a volume, a CMD healthcheck podman-compose would break', () => {
    const real = read('docker-compose.yml');
    const text = real
      .replace(/POSTGRES_PASSWORD: \$\{POSTGRES_PASSWORD:\?[^}]*\}/, 'POSTGRES_PASSWORD: hunter2hunter2')
      .replace('      - postgres-data:/var/lib/postgresql/data\n', '')
      .replace('["CMD-SHELL", "redis-cli ping | grep -q PONG"]', '["CMD", "sh", "-c", "redis-cli ping | grep -q PONG"]');
    expect(text).not.toBe(real);
    const problems = checks.checkCompose(text).join('\n');
    expect(problems).toMatch(/"postgres" sets POSTGRES_PASSWORD to a literal/);
    expect(problems).toMatch(/postgres service "postgres" has no volume/);
    expect(problems).toMatch(/service "redis" healthcheck \["CMD", \.\.\.\] has an argument/);
    expect(checks.checkCompose(real.replace('${CORS_ORIGINS}', '${CORS_ORIGINS:-}')).join('\n')).toMatch(/\$\{CORS_ORIGINS:-\} \(an empty default\) is passed literally/);
    expect(checks.checkCompose(real.replace('@postgres:5432/focusroom', '@db:5432/focusroom'))).toEqual([
      'app service "app1" DATABASE_URL does not point at the postgres service',
      'app service "app2" DATABASE_URL does not point at the postgres service',
    ]);
  });

  it('a Dockerfile whose final stage copies node_modules that kept the devDependencies', () => {
    const text = read('Dockerfile').replace(/RUN npm prune --omit=dev[^\n]*\n[^\n]*\n/, '');
    expect(text).not.toBe(read('Dockerfile'));
    expect(checks.checkDockerfile(text).join('\n')).toMatch(/copies node_modules from stage "build", which did not install with --omit=dev/);
    expect(read('Dockerfile')).not.toMatch(/^# *syntax=/m);
  });

  it('a start that builds, and an image install that would run the prepare build (no tsc with --omit=dev)', () => {
    const scripts = JSON.parse(read('package.json')).scripts as Record<string, string>;
    expect(scripts.prepare).toMatch(/build/);
    expect(checks.checkStartDoesNotBuild({ ...scripts, prestart: 'npm run build' })).toEqual([expect.stringMatching(/"prestart" builds/)]);
    expect(checks.checkStartDoesNotBuild({ start: 'tsc && node dist/server.js' })).toEqual([expect.stringMatching(/"start" builds/)]);
    const noIgnore = read('Dockerfile').replaceAll(' --ignore-scripts', '');
    expect(checks.checkInstallScripts(noIgnore, scripts)).toHaveLength(1);
    expect(checks.checkInstallScripts(noIgnore, scripts).join('\n')).toMatch(/`RUN npm ci --no-audit --no-fund` .*add --ignore-scripts/);
    expect(checks.checkInstallScripts(noIgnore, { start: 'node dist/server.js' })).toEqual([]);
  });

  it('compose Redis without an append-only file, everysec fsync or a /data volume', () => {
    const text = read('docker-compose.yml')
      .replace('"--appendonly", "yes", "--appendfsync", "everysec"', '"--appendonly", "no"')
      .replace('      - redis-data:/data\n', '');
    const problems = checks.checkCompose(text).join('\n');
    expect(problems).toMatch(/does not persist/);
    expect(problems).toMatch(/appendfsync everysec/);
    expect(problems).toMatch(/no volume on \/data/);
  });

  it('compose replicas sharing an INSTANCE_ID', () => {
    const text = read('docker-compose.yml').replace('INSTANCE_ID: app2', 'INSTANCE_ID: app1');
    expect(checks.checkCompose(text).join('\n')).toMatch(/share INSTANCE_ID/);
  });

  it('port parsing handles short and long syntax', () => {
    expect(checks.publishedPorts(['3000:3000', '0.0.0.0:3001:3000/tcp', '[::1]:3002:3000', { target: 3000, published: 3003 }])).toEqual([
      { published: '3000', target: '3000' },
      { published: '3001', target: '3000' },
      { published: '3002', target: '3000' },
      { published: '3003', target: '3000' },
    ]);
  });

  it('haproxy.cfg without health check, tunnel timeout, stickiness, TLS or the HTTPS redirect', () => {
    const cfg = read('deploy/haproxy.cfg')
      .replace(/^\s*option httpchk.*$/m, '')
      .replace(/^\s*timeout tunnel.*$/m, '')
      .replace(/^\s*cookie .*$/m, '')
      .replace(/ ssl crt \S+/, '')
      .replace(/^\s*http-request redirect.*$/m, '');
    const problems = checks.checkHaproxyConfig(cfg, ['app1', 'app2', 'app3']).join('\n');
    expect(problems).toMatch(/httpchk/);
    expect(problems).toMatch(/timeout tunnel/);
    expect(problems).toMatch(/cookie/);
    expect(problems).toMatch(/ssl crt/);
    expect(problems).toMatch(/redirect scheme https/);
    expect(problems).toMatch(/"app3" is not a backend server/);
  });
});
