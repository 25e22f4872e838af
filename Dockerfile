# cityhub image: one image for every role (`cityhub run --role connectors|pipeline|models|all`).
# Built by docker-compose.yml; without a --config it runs the embedded demo city on the /app/data volume.

# ---- build: compile TypeScript to dist/ (needs the dev dependencies: typescript, @types/node) ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused while only sources change. No dependency has an install
# script; --ignore-scripts skips our own `prepare` (npm run build), which needs the sources copied below.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY schemas schemas
COPY connectors connectors
COPY pipelines pipelines
RUN npm run build

# ---- runtime: production dependencies, the compiled CLI and the files it reads at run time ----
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would run tsc, which is a dev dependency (dist/ comes from the build stage instead).
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
# bin/cityhub.js imports ../dist/pipelines/cli/main.js; package.json marks the package root, under which the CLI
# finds sql/ (the models and the bundled region catalog, sql/seeds/regions.csv) and mappings/ (the built-in
# source mappings, mappings/demo/*.yaml) — pipelines/package-root.ts.
COPY bin bin
COPY sql sql
COPY mappings mappings
COPY --from=build /app/dist dist
# The data dir (bus, checkpoints, catalogs, lake cache, marts) is a volume owned by the unprivileged user: a named
# volume mounted there starts as a copy of this folder, owner included.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
VOLUME ["/app/data"]
ENTRYPOINT ["node", "/app/bin/cityhub.js"]
CMD ["run", "--role", "all"]
