/**
 * Layer rules of docs/architecture.md, checked by `npm run lint` (and so by `npm test`):
 *
 *   contract ← domain ← store / redis / scheduler / persistence / limits ← rooms ← auth
 *            ← realtime / http / cluster / webhooks / push ← runtime ← app.ts ← server.ts
 *
 * http/ and realtime/ are peers: the code a REST call shares with its socket twin lives
 * below both (rooms/, auth/, limits/), so neither imports the other.
 *
 * An arrow points from what is imported to who may import it; nothing imports upward,
 * and nothing imports in a circle. test/unit/layer-rules.test.ts shows these rules
 * failing on a deliberate violation.
 */
/** Packages that do I/O or belong to one transport: never in the pure layers. */
const IO_PACKAGES = '(^|/)node_modules/(socket\\.io|socket\\.io-client|engine\\.io|@socket\\.io|fastify|@fastify|ioredis|pg|kysely|@electric-sql|prom-client|rate-limiter-flexible|close-with-grace|jose|web-push)/';
/** Node built-ins that do I/O (node:crypto for hashing stays allowed). */
const IO_BUILTINS = '^(node:)?(fs|fs/promises|net|http|https|http2|child_process|cluster|dgram|dns|tls|worker_threads)$';
const ABOVE_STORE = '^src/(rooms|auth|realtime|http|cluster|webhooks|push|runtime|client)/|^src/(app|server)\\.ts$';
/** Transports, outbox readers and the wiring: what rooms/ and auth/ sit below. */
const TRANSPORTS_AND_UP = '^src/(realtime|http|cluster|webhooks|push|runtime|client)/|^src/(app|server)\\.ts$';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle means two modules are one thing, or a lower one reaches up: split or invert it.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'contract-is-pure',
      severity: 'error',
      comment: 'src/contract is the wire contract (types, schemas, codes): it imports nothing but itself and zod.',
      from: { path: '^src/contract/' },
      to: { pathNot: ['^src/contract/', '(^|/)node_modules/zod/'] },
    },
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'src/domain is pure room rules (state + now in, state + events out): contract and domain only, no I/O.',
      from: { path: '^src/domain/' },
      to: { path: ['^src/(?!contract/|domain/)', IO_PACKAGES, IO_BUILTINS] },
    },
    {
      name: 'storage-below-transports',
      severity: 'error',
      comment: 'store, redis, scheduler, persistence and limits know nothing of rooms, callers, sockets, HTTP, the cluster or the wiring.',
      from: { path: '^src/(store|redis|scheduler|persistence|limits)/' },
      to: { path: ABOVE_STORE },
    },
    {
      name: 'rooms-below-transports',
      severity: 'error',
      comment: 'rooms/ is the application service both transports share: it knows nothing of callers, Socket.IO, HTTP, the cluster or the wiring.',
      from: { path: '^src/rooms/' },
      to: { path: ['^src/auth/', TRANSPORTS_AND_UP] },
    },
    {
      name: 'auth-below-transports',
      severity: 'error',
      comment: 'auth/ resolves who calls, for routes and the handshake alike: it imports neither transport.',
      from: { path: '^src/auth/' },
      to: { path: TRANSPORTS_AND_UP },
    },
    {
      name: 'realtime-not-http-or-cluster',
      severity: 'error',
      comment: 'Socket.IO code does not reach into HTTP routes, cluster-only code or the wiring.',
      from: { path: '^src/realtime/' },
      to: { path: '^src/(http|cluster|webhooks|push|runtime|client)/|^src/(app|server)\\.ts$' },
    },
    {
      name: 'http-not-sockets',
      severity: 'error',
      comment: 'HTTP routes do not import Socket.IO code or cluster code: what a REST call shares with its socket twin lives in rooms/, auth/ and limits/.',
      from: { path: '^src/http/' },
      to: { path: '^src/(realtime|cluster|webhooks|push|runtime|client)/|^src/(app|server)\\.ts$' },
    },
    {
      name: 'cluster-not-http',
      severity: 'error',
      comment: 'Cluster-only code hooks into the realtime layer, never into HTTP or the wiring.',
      from: { path: '^src/cluster/' },
      to: { path: '^src/(http|webhooks|push|runtime|client)/|^src/(app|server)\\.ts$' },
    },
    {
      name: 'webhooks-not-transports',
      severity: 'error',
      comment: 'Webhooks are fed from the outbox, not from rooms, sockets or routes.',
      from: { path: '^src/webhooks/' },
      to: { path: '^src/(rooms|auth|realtime|http|cluster|push|runtime|client)/|^src/(app|server)\\.ts$' },
    },
    {
      name: 'push-not-transports',
      severity: 'error',
      comment: 'Web Push is fed from the outbox, not from rooms, sockets or routes (nor from webhooks).',
      from: { path: '^src/push/' },
      to: { path: '^src/(rooms|auth|realtime|http|cluster|webhooks|runtime|client)/|^src/(app|server)\\.ts$' },
    },
    {
      name: 'runtime-below-app',
      severity: 'error',
      comment: 'The runtime picks backends; app.ts wires it, server.ts runs it.',
      from: { path: '^src/runtime/' },
      to: { path: '^src/(app|server)\\.ts$|^src/client/' },
    },
    {
      name: 'app-below-server',
      severity: 'error',
      from: { path: '^src/app\\.ts$' },
      to: { path: '^src/server\\.ts$' },
    },
    {
      name: 'shared-modules-low',
      severity: 'error',
      comment: 'config.ts, metrics.ts, slices.ts, throttled.ts and timeout.ts are used by every layer, so they import only the contract.',
      from: { path: '^src/(config|metrics|slices|throttled|timeout)\\.ts$' },
      to: { path: '^src/(?!contract/)' },
    },
    {
      name: 'top-level-modules-known',
      severity: 'error',
      comment:
        'A module at the top of src/ sits in no layer, so no rule above covers it: put it in the layer it belongs to. The known ones are the wiring (app.ts, server.ts) and the shared modules of shared-modules-low.',
      from: { path: '^src/' },
      to: { path: '^src/[^/]+$', pathNot: '^src/(app|server|config|metrics|slices|throttled|timeout)\\.ts$' },
    },
    {
      name: 'client-only-contract',
      severity: 'error',
      comment: 'The SDK (src/client) runs in browsers: it imports only src/contract and socket.io-client.',
      from: { path: '^src/client/' },
      to: { pathNot: ['^src/(client|contract)/', '(^|/)node_modules/socket\\.io-client/'] },
    },
    {
      name: 'runtime-imports-are-dependencies',
      severity: 'error',
      comment:
        'What src/ imports at run time ships: `npm ci --omit=dev` (the image, any production install) has no devDependencies, so a runtime import of one fails to start in every mode. Type-only imports vanish at compile time and may use devDependencies (@types/*).',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'runtime-imports-are-installed',
      severity: 'error',
      comment: 'A package src/ imports that package.json does not list at all (it only works while something else pulls it in).',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown', 'unknown', 'undetermined'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'src-not-tests',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a layer that needs another's types depends on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
