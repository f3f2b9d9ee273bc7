# The controller image: `kubeopencode-controller run` (the Deployment) and `kubeopencode-controller crontask-fire`
# (CronTask jobs). Build from a packed tarball so the image holds exactly what npm would install:
#   npm run build && docker build -t ghcr.io/cdk8s-kubeopencode/controller:0.1.0 .
# BASE: the node image both stages start from. The node test tier (scripts/node/provision.sh) builds this file with a
# local stand-in (no registry is reachable there) and npm_config_offline=true with the host's npm cache mounted.
ARG BASE=node:20-bookworm-slim
FROM ${BASE} AS build
ARG npm_config_offline
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npx tsc --build && npm prune --omit=dev --ignore-scripts

FROM ${BASE}
# git for the Rollout policy's `git ls-remote`, CA certificates for HTTPS remotes
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /opt/kubeopencode
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/lib ./lib
COPY --from=build /src/bin ./bin
COPY --from=build /src/crds ./crds
COPY --from=build /src/assets ./assets
RUN ln -s /opt/kubeopencode/bin/kubeopencode-controller /usr/local/bin/kubeopencode-controller
USER 65532:65532
ENTRYPOINT ["kubeopencode-controller"]
CMD ["run"]
