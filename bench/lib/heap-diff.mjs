/**
 * What a set of connections added to the heap, by constructor: compares two V8 heap
 * snapshots (the memory scenario's BENCH_HEAP_SNAPSHOT pair) and prints, per node type and
 * name, the count and self size added, largest first, divided by N.
 *
 *   node bench/lib/heap-diff.mjs base.heapsnapshot seated.heapsnapshot N [rows]
 *
 * Self sizes only (what each object itself takes, not what it retains): their sum is the
 * heap growth, so the rows add up to the per-connection figure.
 */
import { readFileSync } from 'node:fs';

function tally(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const meta = snap.snapshot.meta;
  const fields = meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = meta.node_types[typeAt];
  const nodes = snap.nodes;
  const strings = snap.strings;
  const byKey = new Map();
  let total = 0;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    const size = nodes[i + sizeAt];
    // Strings and code are grouped by type; objects, closures and arrays by name.
    let name = type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number' || type === 'code' ? '' : strings[nodes[i + nameAt]];
    if (type === 'closure' || type === 'hidden' || type === 'array') name = String(name).slice(0, 60);
    const key = `${type}\t${name}`;
    const t = byKey.get(key) ?? { count: 0, size: 0 };
    t.count += 1;
    t.size += size;
    byKey.set(key, t);
    total += size;
  }
  return { byKey, total };
}

const [baseFile, afterFile, nArg, rowsArg] = process.argv.slice(2);
if (!afterFile || !nArg) {
  console.error('usage: node bench/lib/heap-diff.mjs base.heapsnapshot after.heapsnapshot N [rows]');
  process.exit(2);
}
const n = Number(nArg);
const base = tally(baseFile);
const after = tally(afterFile);
const rows = [];
for (const [key, a] of after.byKey) {
  const b = base.byKey.get(key) ?? { count: 0, size: 0 };
  rows.push({ key, count: (a.count - b.count) / n, bytes: (a.size - b.size) / n });
}
rows.sort((x, y) => y.bytes - x.bytes);
console.log(`self size added per connection: ${((after.total - base.total) / n / 1024).toFixed(2)} KB (${n} connections)`);
console.log('bytes/conn\tobjs/conn\ttype\tname');
for (const r of rows.slice(0, Number(rowsArg ?? 40))) console.log(`${r.bytes.toFixed(0)}\t${r.count.toFixed(2)}\t${r.key}`);
