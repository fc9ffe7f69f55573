import type { FocusroomClient } from './src/client/index.js';

declare global {
  interface Window {
    /** The page's SDK client (app.js), for the console, push.js and the browser tests. */
    focusroom?: FocusroomClient;
  }
}
