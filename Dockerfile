# syntax=docker/dockerfile:1
# focusroom container image (DESIGN.md §5): multi-stage, production dependencies
# only, non-root, HEALTHCHECK on /health, tini as PID 1 so SIGTERM reaches Node.
#
#   docker build -t focusroom .
#   docker run --rm -p 3000:3000 focusroom                             # single instance, memory store
#   docker run --rm -p 3000:3000 -e REDIS_URL=redis://host:6379 focusroom   # cluster member
#   docker compose up --build                                          # redis + 2 replicas + haproxy

ARG NODE_IMAGE=node:20-bookworm-slim

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

# ---- runtime: production dependencies + compiled output only ------------------
FROM ${NODE_IMAGE} AS runtime
# tini: a tiny init for PID 1. It forwards SIGTERM/SIGINT to node (which runs the
# graceful shutdown: /health -> 503, refuse new connections, close sockets) and
# reaps zombies. Node as PID 1 would also see SIGTERM, since it installs its own
# handler, but it does not reap orphaned children.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no `prepare` build here (no tsc without dev dependencies; dist/ is
# copied from the build stage). No production dependency needs an install script.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY public ./public
# Files stay owned by root and read-only for the process; it runs as the
# unprivileged `node` user (uid 1000) that the official image provides.
USER node
EXPOSE 3000
# No curl in slim images: node's own fetch. 503 (draining, Redis down) -> unhealthy.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health',{signal:AbortSignal.timeout(2500)}).then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--"]
# Not `npm start`: npm would sit between tini and node (and swallow the signals).
# GC flags, measured in docs/performance.md (keep them equal to `npm start`; the deploy
# lint checks). Tick garbage must die young: 128 MB semi-spaces (a scavenge every ~1.7 s
# at 19.5k connections, longer than a tick's objects live) and no allocation-site
# pretenuring (V8 otherwise moves Socket.IO's per-write objects straight to the old
# generation, which then needs a major GC every ~30 s instead of every ~100 s). One V8
# worker thread keeps a major GC's helpers from crowding the event loop off its core
# (one instance per core; with the default 4, major GCs stalled the loop 0.1–0.45 s).
CMD ["node", "--max-semi-space-size=128", "--v8-pool-size=1", "--no-allocation-site-pretenuring", "dist/server.js"]
