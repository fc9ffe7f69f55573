/**
 * Child processes of the bench: spawned with an IPC channel, optionally pinned to a
 * core (`taskset -c`) and given a higher open-file limit (`prlimit`); both tools exec
 * the real program, so the PID we hold is node's (or redis-server's) own. Every child
 * is remembered and killed by PID when the harness exits, however it exits; nothing
 * else is ever signalled.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { killTrackedChildren, trackChild } from '../../test/helpers/children.js';

/** Kills every child the bench started (test/helpers/children.ts tracks them, for the tests too). */
export const killAllChildren = killTrackedChildren;

function has(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const tools = { taskset: has('taskset'), prlimit: has('prlimit') };

/** The open-file limits of this process (soft, hard), from /proc. */
export function nofileLimits(): { soft: number; hard: number } {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const [soft, hard] = (line?.match(/(\d+|unlimited)\s+(\d+|unlimited)/)?.slice(1) ?? ['1024', '1024']).map((v) => (v === 'unlimited' ? Infinity : Number(v)));
  return { soft: soft!, hard: hard! };
}

export interface SpawnOptions {
  /** Cores for `taskset -c` (e.g. "0"); null = no pinning. */
  cpus: string | null;
  /** Open files the child needs; raised up to the hard limit with prlimit. */
  nofile?: number;
  env?: Record<string, string>;
  /** Give the child an IPC channel (node programs). */
  ipc?: boolean;
  /** Where the child's stderr goes: inherited (default) or collected for error messages. */
  quiet?: boolean;
  /** With `quiet`: also copy the output to <BENCH_LOG_DIR>/<logName>.log when BENCH_LOG_DIR is set. */
  logName?: string;
}

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** Last lines of output when `quiet`. */
  output(): string;
}

/** The commands a child runs under: `prlimit` for its open files, `taskset -c` for its cores (both exec the program). */
export function launchPrefix(opts: Pick<SpawnOptions, 'cpus' | 'nofile'>): string[] {
  const prefix: string[] = [];
  if (opts.nofile) {
    const { soft, hard } = nofileLimits();
    if (opts.nofile > soft && tools.prlimit) {
      const want = Math.min(hard, opts.nofile);
      prefix.push('prlimit', `--nofile=${want}:${hard === Infinity ? 'unlimited' : hard}`);
    }
  }
  if (opts.cpus !== null && tools.taskset) prefix.push('taskset', '-c', opts.cpus);
  return prefix;
}

export function spawnChild(cmd: string, args: string[], opts: SpawnOptions): Child {
  const argv = [...launchPrefix(opts), cmd, ...args];
  const out: string[] = [];
  const proc = spawn(argv[0]!, argv.slice(1), {
    stdio: ['ignore', opts.quiet ? 'pipe' : 'inherit', opts.quiet ? 'pipe' : 'inherit', ...(opts.ipc ? (['ipc'] as const) : [])],
    env: { ...process.env, ...opts.env },
  });
  if (opts.quiet) {
    const keep = (c: Buffer) => {
      out.push(c.toString());
      if (out.length > 50) out.shift();
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    const dir = process.env.BENCH_LOG_DIR;
    if (dir && opts.logName) {
      mkdirSync(dir, { recursive: true });
      const file = createWriteStream(join(dir, `${opts.logName}.log`), { flags: 'a' });
      proc.stdout?.pipe(file);
      proc.stderr?.pipe(file);
    }
  }
  trackChild(proc);
  return { proc, pid: proc.pid ?? -1, output: () => out.join('') };
}

/** A node child that speaks the bench's request/response IPC ({id, type, ...} → {id, ok, result}). */
export class NodeChild {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  readonly ready: Promise<{ url?: string; pid: number }>;

  constructor(
    readonly name: string,
    readonly child: Child,
  ) {
    const proc = child.proc;
    this.ready = new Promise((resolve, reject) => {
      const onExit = (code: number | null, sig: string | null) => reject(new Error(`${name} exited before ready (code ${code}, signal ${sig})\n${child.output().slice(-3000)}`));
      proc.once('exit', onExit);
      proc.on('message', (m: any) => {
        if (m?.type === 'ready') {
          proc.off('exit', onExit);
          resolve(m);
        }
      });
    });
    proc.on('message', (m: any) => {
      if (typeof m?.id !== 'number') return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(`${name}: ${m.error}`));
    });
    proc.once('exit', (code, sig) => {
      for (const p of this.pending.values()) p.reject(new Error(`${name} exited (code ${code}, signal ${sig})\n${child.output().slice(-3000)}`));
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.child.pid;
  }

  request<T = any>(msg: Record<string, unknown>, timeoutMs = 60_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: ${String(msg.type)} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.proc.send({ ...msg, id });
    });
  }

  /** Asks the child to close, then SIGKILLs it if it has not exited within `graceMs`. */
  async stop(graceMs = 6_000): Promise<void> {
    const proc = this.child.proc;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    this.request({ type: 'close' }, graceMs).catch(() => undefined);
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

/** CPU seconds (user+system) of any process, from /proc/<pid>/stat (clock-tick resolution). */
export function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / clockTicks();
}

let ticksPerSec: number | null = null;
function clockTicks(): number {
  if (ticksPerSec === null) {
    try {
      ticksPerSec = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      ticksPerSec = 100;
    }
  }
  return ticksPerSec;
}
