/**
 * In-process V8 profilers for the bench's server processes (focusroom and the ws
 * baseline), driven over IPC: started and stopped around a measurement window rather
 * than covering the whole process as `node --cpu-prof` would.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

let session = null;
const post = (method, params) =>
  new Promise((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));

async function open(commands) {
  session = new Session();
  session.connect();
  for (const [method, params] of commands) await post(method, params);
}

async function close(stopMethod, file) {
  const { profile } = await post(stopMethod);
  session.disconnect();
  session = null;
  writeFileSync(file, JSON.stringify(profile));
  return { file };
}

export const startCpuProfile = (intervalUs = 1000) =>
  open([['Profiler.enable'], ['Profiler.setSamplingInterval', { interval: intervalUs }], ['Profiler.start']]);
export const stopCpuProfile = (file) => close('Profiler.stop', file);

/**
 * Sampling heap profiler. With includeObjectsCollectedByMajorGC and without ...ByMinorGC,
 * the samples are the allocations that outlived a scavenge (promoted to old space).
 */
export const startAllocProfile = ({ intervalBytes = 16384, major = false, minor = false } = {}) =>
  open([
    ['HeapProfiler.enable'],
    ['HeapProfiler.startSampling', { samplingInterval: intervalBytes, includeObjectsCollectedByMajorGC: major, includeObjectsCollectedByMinorGC: minor }],
  ]);
export const stopAllocProfile = (file) => close('HeapProfiler.stopSampling', file);
