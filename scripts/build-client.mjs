// Bundles the SDK (src/client) for browsers: dist/browser/focusroom-client.js, one ES
// module served at /sdk/focusroom-client.js. socket.io-client is not bundled: the import
// is pointed at the copy the server itself serves from the installed package
// (Socket.IO's serveClient, /socket.io/socket.io.esm.min.js), so the two never differ.
//
//   node scripts/build-client.mjs         (part of `npm run build`)
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BROWSER_BUNDLE = fileURLToPath(new URL('../dist/browser/focusroom-client.js', import.meta.url));
export const SOCKET_IO_URL = '/socket.io/socket.io.esm.min.js';

const socketIoFromServer = {
  name: 'socket.io-client-from-server',
  setup(b) {
    b.onResolve({ filter: /^socket\.io-client$/ }, () => ({ path: SOCKET_IO_URL, external: true }));
  },
};

/** Builds the browser bundle; returns esbuild's result (with `metafile`). */
export async function buildBrowserClient({ outfile = BROWSER_BUNDLE, write = true } = {}) {
  if (write) mkdirSync(new URL('../dist/browser/', import.meta.url), { recursive: true });
  return build({
    absWorkingDir: ROOT,
    entryPoints: ['src/client/index.ts'],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    outfile,
    write,
    metafile: true,
    logLevel: 'warning',
    plugins: [socketIoFromServer],
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await buildBrowserClient();
  const out = Object.entries(result.metafile.outputs).find(([file]) => file.endsWith('.js'));
  console.log(`built ${out[0]} (${out[1].bytes} bytes)`);
}
