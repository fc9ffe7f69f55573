/**
 * Summarises a V8 .cpuprofile (the format `node --cpu-prof` writes, and what the
 * inspector's Profiler.stop returns): self time per function and per package, as a
 * share of the busy (non-idle) samples.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface FrameShare {
  frame: string;
  where: string;
  selfMs: number;
  pct: number;
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  busyMs: number;
  idleMs: number;
  top: FrameShare[];
  byPackage: Array<{ pkg: string; selfMs: number; pct: number }>;
}

/** "node_modules/engine.io/build/socket.js" → "engine.io"; "src/realtime/ticker.ts" → "focusroom src". */
function packageOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node (core)';
  if (/\/(src|dist)\//.test(url)) return 'focusroom';
  if (/\/bench\//.test(url)) return 'bench';
  return url;
}

function shortWhere(url: string, line: number): string {
  if (!url) return '';
  const nm = url.lastIndexOf('node_modules/');
  const path = nm >= 0 ? url.slice(nm + 'node_modules/'.length) : url.replace(/^file:\/\/.*?\/(src|dist|bench)\//, '$1/');
  return `${path}:${line + 1}`;
}

export function summarizeProfile(file: string, topN = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Samples taken while the inspector serialises the profile itself (Profiler.stop)
  // are the measurement, not the server: drop everything under an inspector call.
  const excluded = new Set<number>();
  const exclude = (id: number) => {
    excluded.add(id);
    for (const c of byId.get(id)?.children ?? []) exclude(c);
  };
  for (const n of profile.nodes) if (n.callFrame.url === 'node:inspector' && !excluded.has(n.id)) exclude(n.id);
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time since the previous sample; attribute it to sample i.
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    if (excluded.has(id)) continue;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const frames = new Map<string, { frame: string; where: string; us: number }>();
  const pkgs = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const cf = node.callFrame;
    totalUs += us;
    if (cf.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const name = cf.functionName || '(anonymous)';
    const where = shortWhere(cf.url, cf.lineNumber);
    const key = `${name}@${where}`;
    const f = frames.get(key) ?? { frame: name, where, us: 0 };
    f.us += us;
    frames.set(key, f);
    const pkg = packageOf(cf.url, name);
    pkgs.set(pkg, (pkgs.get(pkg) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const pct = (us: number) => Math.round((1000 * us) / Math.max(1, busyUs)) / 10;
  const ms = (us: number) => Math.round(us / 100) / 10;
  return {
    file,
    wallMs: ms(profile.endTime - profile.startTime),
    busyMs: ms(busyUs),
    idleMs: ms(idleUs),
    top: [...frames.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((f) => ({ frame: f.frame, where: f.where, selfMs: ms(f.us), pct: pct(f.us) })),
    byPackage: [...pkgs.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([pkg, us]) => ({ pkg, selfMs: ms(us), pct: pct(us) })),
  };
}

export function formatProfile(s: ProfileSummary): string {
  const lines = [`profile ${s.file}: ${s.busyMs} ms busy of ${s.wallMs} ms`, '  self%  self ms  function (where)'];
  for (const f of s.top) lines.push(`  ${f.pct.toFixed(1).padStart(5)}  ${f.selfMs.toFixed(1).padStart(7)}  ${f.frame} (${f.where})`);
  lines.push('  by package:');
  for (const p of s.byPackage) lines.push(`  ${p.pct.toFixed(1).padStart(5)}  ${p.selfMs.toFixed(1).padStart(7)}  ${p.pkg}`);
  return lines.join('\n');
}

// `tsx bench/lib/profile.ts file.cpuprofile [topN]` summarises a profile on its own.
if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: tsx bench/lib/profile.ts <file.cpuprofile> [topN]');
    process.exit(2);
  }
  console.log(formatProfile(summarizeProfile(file, Number(process.argv[3] ?? 20))));
}
