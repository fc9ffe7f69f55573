# focusroom container image: multi-stage, production dependencies
# only, non-root, HEALTHCHECK on /health, tini as PID 1 so SIGTERM reaches Node, the
# store of record on a declared volume. No `# syntax=` line: BuildKit's built-in
# frontend is enough, so nothing is pulled but the base image.
#
#   docker build -t focusroom .
#   docker run --rm -p 3000:3000 -v focusroom-data:/app/data focusroom   # one instance, results kept in the volume
#   docker compose up -d                                                  # the production deploy: docs/deploy.md
#
# Stages: build (all dependencies, tsc + esbuild, then pruned to production ones) ->
# runtime-fs (the Node base without npm, tini, the app) -> runtime (that, as one layer).

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: full dependency tree (TypeScript), compile src/ -> dist/ ----------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: package.json's `prepare` builds, but the sources are not copied yet;
# the build runs explicitly below (esbuild needs no install script: its binary is the
# @esbuild/<platform> optional dependency).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/build-client.mjs ./scripts/
RUN npm run build

# Production dependencies only (no network: the tree above, pruned), without the files
# nothing loads at run time (type declarations, TypeScript sources, source maps, docs:
# ~35 MB of the 250 MB budget).
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && find node_modules -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' -o -iname '*.md' -o -iname '*.markdown' \) -delete

# ---- runtime filesystem: the base without npm, plus tini and the app --------------
FROM ${NODE_IMAGE} AS runtime-fs
# tini: a tiny init for PID 1. It forwards SIGTERM/SIGINT to node (which runs the
# graceful shutdown: /health -> 503, refuse new connections, close sockets) and
# reaps zombies. npm, corepack and yarn are removed: nothing runs them here.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/cache/debconf/*-old /var/log/apt /var/log/dpkg.log \
 && rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
    /opt/yarn-* /usr/local/bin/yarn /usr/local/bin/yarnpkg /usr/local/include/node \
 && mkdir -p /app/data
COPY package.json /app/
COPY --from=build /app/node_modules /app/node_modules
COPY --from=build /app/dist /app/dist
COPY public /app/public

# ---- runtime: that filesystem as one layer --------------------------------------
# A deletion in a layer on top of the base would hide npm but not shrink the image
# (the base's layers stay): copied whole into an empty image, the image is ~20 MB smaller
# and within the 250 MB budget. The base's environment is set again below.
FROM scratch AS runtime
COPY --from=runtime-fs / /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/data
WORKDIR /app
# The embedded store of record (no DATABASE_URL). Owned by the runtime user before the
# VOLUME line, so a new named volume starts owned by `node` and the process can write
# it. Mount a named volume here to keep results when the container is re-created.
RUN chown node:node /app/data
VOLUME ["/app/data"]
# Everything else stays owned by root and read-only for the process; it runs as the
# unprivileged `node` user (uid 1000) that the base image provides.
USER node
EXPOSE 3000
# No curl in slim images: node's own fetch. 503 (draining, Redis down) -> unhealthy.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health',{signal:AbortSignal.timeout(2500)}).then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--"]
# Not `npm start`: npm would sit between tini and node (and swallow the signals).
# GC flags, measured in docs/performance.md (keep them equal to `npm start`; the deploy
# lint checks). Tick garbage must die young, and each scavenge stays short: 32 MB
# semi-spaces (128 before: beside 10k sockets each scavenge then copied 10-20 MB, a
# 25-67 ms pause; 32 beat 128 on each bench rerun, docs/performance.md) and no allocation-site
# pretenuring (V8 otherwise moves Socket.IO's per-write objects straight to the old
# generation, which then needs a major GC every ~30 s instead of every ~100 s). One V8
# worker thread keeps a major GC's helpers from crowding the event loop off its core
# (one instance per core; with the default 4, major GCs stalled the loop 0.1–0.45 s).
CMD ["node", "--max-semi-space-size=32", "--v8-pool-size=1", "--no-allocation-site-pretenuring", "dist/server.js"]
