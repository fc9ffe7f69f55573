import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The browser SDK bundle the web page loads (/sdk/focusroom-client.js), built once per run.
    globalSetup: ['test/global-setup.ts'],
    // Stops what the test helpers started outside a test (test/helpers/teardown.ts).
    setupFiles: ['test/helpers/setup.ts'],
    // Integration tests start real servers and count real seconds; two files at a
    // time keeps a 2-core machine from turning timing bounds into flakes.
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
