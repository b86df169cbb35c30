# layotto-ts sidecar image.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY proto ./proto
COPY components ./components
USER node
# Dapr HTTP, Dapr gRPC, Layotto gRPC, metrics
EXPOSE 3500 50001 34904 9090
ENTRYPOINT ["node", "dist/main.js"]
CMD ["--resources-path", "/app/components"]
