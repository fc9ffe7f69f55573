/** vitest setup file (vitest.config.ts `setupFiles`): stops what helpers started outside a test. */
import { afterAll } from 'vitest';
import { runFileTeardowns } from './teardown.js';

afterAll(() => runFileTeardowns());
