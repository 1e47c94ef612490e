# syntax=docker/dockerfile:1
# Build stage: full dependencies, compile TypeScript.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY cmd ./cmd
COPY chaos ./chaos
RUN npm run build && npm prune --omit=dev

# Runtime stage: production dependencies and compiled output only, as a non-root user.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    STREAMBUS_BROKER_DATA_DIR=/var/lib/streambus \
    STREAMBUS_BROKER_LISTEN=0.0.0.0:9092
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/package.json ./package.json
RUN mkdir -p /var/lib/streambus && chown node:node /var/lib/streambus
USER node
VOLUME ["/var/lib/streambus"]
# 9092 clients, 9093 inter-broker, 8080 health and metrics (9090 when metrics.port is set).
EXPOSE 9092 9093 8080 9090
HEALTHCHECK --interval=10s --timeout=2s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node is PID 1's direct child of nothing else, so SIGTERM reaches it and the broker drains.
ENTRYPOINT ["node", "dist/cmd/streambus.js"]
CMD ["broker"]
