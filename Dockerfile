# One image, two entrypoints: the operator and the runtime worker.
#   operator: node dist/operator/main.js
#   runtime:  node dist/runtime/main.js --config /etc/adpipe/pipeline.json
# The operator's Deployments set the runtime command explicitly; the default command is the operator.

FROM node:20.20.2-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Scripts are skipped here because `prepare` (the TypeScript build) needs the sources copied below.
RUN npm ci --ignore-scripts --no-audit --no-fund
# The image compiles the product only (tsconfig.image.json leaves tests and test harnesses out).
COPY tsconfig.json tsconfig.build.json tsconfig.image.json ./
COPY api ./api
COPY cli ./cli
COPY operator ./operator
COPY runtime ./runtime
COPY hbase ./hbase
COPY kafka ./kafka
COPY schema-registry ./schema-registry
COPY generator ./generator
COPY producer ./producer
COPY crds ./crds
RUN npx tsc -p tsconfig.image.json && npm prune --omit=dev --no-audit --no-fund

FROM node:20.20.2-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=root:root /src/package.json ./
COPY --from=build --chown=root:root /src/node_modules ./node_modules
COPY --from=build --chown=root:root /src/dist ./dist
COPY --from=build --chown=root:root /src/crds ./crds
# The `node` user of the base image (uid 1000); numeric so runAsNonRoot can verify it.
USER 1000:1000
ENTRYPOINT ["node"]
CMD ["dist/operator/main.js"]
