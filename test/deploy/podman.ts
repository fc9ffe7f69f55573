/**
 * podman for the image and compose tests (test/deploy): builds the image once per run,
 * runs containers and compose projects under names of their own, and removes exactly
 * what it made (by name). Docker-compatible commands only, so `CONTAINER=docker` works
 * where Docker is what the machine has (COMPOSE then defaults to `docker compose`).
 */
import { execFile, type ExecFileOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { getJson } from '../helpers/http.js';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const ENGINE = process.env.CONTAINER ?? 'podman';
export const COMPOSE = (process.env.COMPOSE ?? (ENGINE === 'docker' ? 'docker compose' : 'podman-compose')).split(' ');
/** The tag docker-compose.yml's app services use, so compose finds it built. */
export const IMAGE = 'focusroom:latest';
/** The largest image the deploy accepts (test/deploy/image.test.ts checks it). */
export const MAX_IMAGE_BYTES = 250 * 1000 * 1000;

export interface Run {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a command; resolves with its output and exit code (never rejects on a non-zero exit). */
export function run(cmd: string, args: string[], opts: ExecFileOptions & { timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 120_000, ...opts, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : 1) : 0;
      resolve({ stdout: String(stdout), stderr: String(stderr), code });
    });
  });
}

/** Runs a command and throws with its output when it fails. */
export async function must(cmd: string, args: string[], opts: ExecFileOptions & { timeoutMs?: number } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}):\n${r.stderr}\n${r.stdout}`.slice(0, 8_000));
  return r.stdout;
}

export const engine = (args: string[], opts: ExecFileOptions & { timeoutMs?: number } = {}) => must(ENGINE, args, opts);

/** A name no earlier run left behind. */
export const uniqueName = (prefix: string) => `${prefix}-${randomBytes(3).toString('hex')}`;

/** Prints a measured figure so the CI log carries it (and the report can quote it). */
export function report(what: string, value: string): void {
  console.log(`[deploy] ${what}: ${value}`);
}

let built: Promise<{ seconds: number; bytes: number }> | null = null;

/**
 * `podman build --format docker` (the OCI format drops HEALTHCHECK) of the repository's
 * Dockerfile as IMAGE; once per process (test/deploy/global-setup.ts runs it once per
 * pass and provides the result as `inject('image')`). Resolves with the build time and size.
 */
export function buildImage(): Promise<{ seconds: number; bytes: number }> {
  built ??= (async () => {
    const t0 = Date.now();
    const args = ENGINE === 'podman' ? ['build', '--format', 'docker', '-t', IMAGE, '.'] : ['build', '-t', IMAGE, '.'];
    await engine(args, { timeoutMs: 900_000 });
    const seconds = (Date.now() - t0) / 1000;
    const bytes = Number((await engine(['image', 'inspect', IMAGE, '--format', '{{.Size}}'])).trim());
    report('image build', `${seconds.toFixed(1)} s (layers cached from an earlier build count as done)`);
    report('image size', `${(bytes / 1e6).toFixed(1)} MB`);
    return { seconds, bytes };
  })();
  return built;
}

/** Polls `url` until it answers 200 (and `accept(body)`), or throws after `timeoutMs`. */
export async function waitForHealth(url: string, timeoutMs: number, accept: (body: any) => boolean = () => true): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const r = await getJson(url, 2_000);
      if (r.status === 200 && accept(r.body)) return r.body;
      last = `${r.status} ${r.text.slice(0, 200)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`${url}: not healthy within ${timeoutMs} ms (last: ${last})`);
}

/** The state podman reports for a container. */
export async function containerState(name: string): Promise<{ running: boolean; exitCode: number; health: string }> {
  const out = await engine(['inspect', name, '--format', '{{.State.Running}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}']);
  const [running, code, health] = out.trim().split(' ');
  return { running: running === 'true', exitCode: Number(code), health: health ?? 'none' };
}
