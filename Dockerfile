# syntax=docker/dockerfile:1
#
# Spindle on Node.js in one image. Build:
#   docker build -t spindle .                      # the runtime: serves the project in /app
#   docker build --target demo -t spindle-demo .   # the same with examples/demo in /app
# Your own app: `FROM spindle` and `COPY . /app` (with a spindle.json that binds 0.0.0.0).
# Layout and the Kubernetes manifests: docs/kubernetes.md. deploy/check-image-layout runs
# this layout on the build machine; deploy/validate lints this file.

# Both stages on Debian bookworm, so the binary and the addon link against the glibc the
# runtime has.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
# The cache mounts keep the registry and target/ between builds; the artifacts are copied
# out in the same step because a cache mount is not part of the image. Debug info is
# stripped (the release profile keeps it for benchmarks), symbols stay for backtraces.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p spindle-cli -p spindle-node \
    && mkdir -p /out/js \
    && cp target/release/spindle target/release/libspindle_node.so /out/ \
    && strip --strip-debug /out/spindle /out/libspindle_node.so \
    && cp js/*.js /out/js/

FROM node:24-bookworm-slim AS spindle
# `spindle` finds the addon beside its executable and the JS shim in js/ beside it
# (crates/spindle-cli/src/launch.rs); the symlink on PATH resolves to that directory.
COPY --from=build /out/ /opt/spindle/
RUN ln -s /opt/spindle/spindle /usr/local/bin/spindle \
    && mkdir /app \
    && chown node:node /app
ENV NODE_ENV=production
WORKDIR /app
# The image's `node` user, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
# The public listener and the admin server (probes, /metrics) at their default ports; the
# config must bind them to 0.0.0.0 to be reachable from outside the container.
EXPOSE 3042 9090
# spindle execs node, which becomes PID 1 and handles SIGTERM itself: readiness goes
# false, in-flight requests drain, workers close, exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["spindle"]
CMD ["start", "/app"]

# The demo with the Kubernetes example's config, which binds 0.0.0.0:
#   docker run -p 3042:3042 -p 9090:9090 spindle-demo
FROM spindle AS demo
COPY --chown=1000:1000 examples/demo /app
COPY --chown=1000:1000 deploy/kubernetes/spindle.json /app/spindle.json

# The default target: the runtime without an app.
FROM spindle
