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
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
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
RUN npm ci --omit=dev --no-audit --no-fund \
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
# Not `npm start`: it has a prestart build step, and npm would sit between tini and node.
# A 64 MB young-generation semi-space: fewer scavenges and promotions under tick load
# (at 10k connections tick p99 10.7 → 6.6 ms, 10–15% less CPU; docs/performance.md).
CMD ["node", "--max-semi-space-size=64", "dist/server.js"]
