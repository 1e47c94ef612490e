# syntax=docker/dockerfile:1
# StreamBus broker image.
#   docker build -t streambus:0.1.0 .
#   docker run -d --name streambus -p 9092:9092 -p 8080:8080 -v streambus-data:/var/lib/streambus \
#     -e STREAMBUS_BROKER_ADVERTISED_LISTEN=HOST:9092 --stop-timeout 45 streambus:0.1.0
# `docker stop` waits 10 s by default before SIGKILL; the broker drains for up to shutdown.timeout_ms
# (30 s), hence --stop-timeout (stop_grace_period in Compose). test/deploy/dockerfile.test.ts lints this
# file and runs the runtime stage's command, environment and HEALTHCHECK against the built dist/.
ARG NODE_IMAGE=node:20-bookworm-slim

# Build stage: every dependency, compile TypeScript, then drop the dev dependencies.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# Everything tsconfig.json's "include" names must be copied here.
COPY tsconfig.json ./
COPY src ./src
COPY cmd ./cmd
COPY chaos ./chaos
RUN npm run build \
  && npm prune --omit=dev --no-audit --no-fund \
  && rm -rf dist/chaos

# Runtime stage: production dependencies and compiled output only. The code is owned by root and
# read-only to the broker's user; only the data dir is writable.
FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="StreamBus" \
      org.opencontainers.image.description="Kafka-class commit-log broker for Node.js" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production \
    STREAMBUS_BROKER_DATA_DIR=/var/lib/streambus \
    STREAMBUS_BROKER_LISTEN=0.0.0.0:9092 \
    STREAMBUS_HEALTH_HTTP_PORT=8080
WORKDIR /app
# package.json carries "type": "module": without it node cannot load dist/.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /var/lib/streambus && chown node:node /var/lib/streambus && chmod 0750 /var/lib/streambus
USER node
VOLUME ["/var/lib/streambus"]
# 9092 clients, 9093 inter-broker (Raft transport: metadata and partition groups), 8080 health and metrics
# (9090 when metrics.port is set).
EXPOSE 9092 9093 8080 9090
# Reads the health port from the same variable the broker does, so overriding it keeps the check right.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.STREAMBUS_HEALTH_HTTP_PORT||8080)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
# Exec form: node is PID 1 itself (no shell in between), so `docker stop`'s SIGTERM reaches the broker,
# which handles it (PID 1 gets no default signal actions) and drains. The broker starts no child
# processes, so there are no zombies to reap and no init is needed.
ENTRYPOINT ["node", "--max-semi-space-size=64", "--initial-old-space-size=256", "dist/cmd/streambus.js"]
CMD ["broker"]
