# One image for both processes: `node dist/api/server.js` (the default) or `node dist/worker/main.js`.
# Build: docker build -t event-service .   The dev stack (src/dev) is not in it.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build:dist

FROM node:24-bookworm-slim AS runtime-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=runtime-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY migrations ./migrations
# The image's `node` user, not root. Both processes handle SIGTERM themselves (drain, then exit),
# which is what PID 1 must do; `docker run --init` adds a reaper if you want one.
USER node
EXPOSE 3000 3001
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["node", "dist/healthcheck.js"]
CMD ["node", "--max-semi-space-size=64", "dist/api/server.js"]
