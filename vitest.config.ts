import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Load tests pin both cores on purpose (a flood of 19,000 events/s, a 240-client reconnect
 * storm, 1,000 clients at shutdown, a 10,000-call fuzz with tick bounds, the bench smoke).
 * Run beside other files they starve those files' servers, and each measures the other's
 * load instead of its own, so they run in a second pass, one file at a time:
 * `npm test` = lint, `vitest run` (everything else, two files at a time), then
 * `TEST_GROUP=load vitest run`.
 */
export const LOAD_TESTS = [
  'test/integration/slow-consumers-and-floods.test.ts',
  'test/cluster/reconnect-storm.test.ts',
  'test/integration/shutdown-under-load.test.ts',
  'test/integration/event-fuzz.test.ts',
  'test/integration/bench-smoke.test.ts',
];
/**
 * What ships, run for real: a production install in every mode, the image
 * and the compose deploy built and run with podman. A pass of its own after the others
 * (`npm run test:deploy`, .ci/run): it installs from the registry, builds the image once
 * (test/deploy/global-setup.ts) and runs containers.
 */
export const DEPLOY_TESTS = ['test/deploy/**/*.test.ts'];
const loadPass = process.env.TEST_GROUP === 'load';
const deployPass = process.env.TEST_GROUP === 'deploy';

export default defineConfig({
  test: {
    include: loadPass ? LOAD_TESTS : deployPass ? DEPLOY_TESTS : ['test/**/*.test.ts'],
    exclude: loadPass || deployPass ? configDefaults.exclude : [...configDefaults.exclude, ...LOAD_TESTS, ...DEPLOY_TESTS],
    // The browser SDK bundle the web page loads (/sdk/focusroom-client.js), built once per run.
    // The deploy pass builds the image once for its files (test/deploy/global-setup.ts).
    globalSetup: ['test/global-setup.ts', ...(deployPass ? ['test/deploy/global-setup.ts'] : [])],
    // Stops what the test helpers started outside a test (test/helpers/teardown.ts).
    setupFiles: ['test/helpers/setup.ts'],
    // Integration tests start real servers and count real seconds; two files at a
    // time keeps a 2-core machine from turning timing bounds into flakes.
    // The deploy pass: two files at a time, so the production install's npm ci and
    // servers overlap the containers' start-ups (each file mostly waits).
    maxWorkers: loadPass ? 1 : 2,
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
