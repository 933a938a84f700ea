# livepulse: one binary (run, migrate, simulate, query, broker, demo), and its Grafana datasource
# plugin under /usr/local/share/livepulse/grafana-plugin.
#
#   docker build -t livepulse .
#   docker run --rm livepulse run --brokers kafka:9092 --clickhouse clickhouse://… --http 0.0.0.0:8080
#
# The image talks to a ClickHouse server (--clickhouse / LIVEPULSE_CLICKHOUSE). It does not carry
# libchdb.so, the embedded engine that `demo` and a --clickhouse-less `run` load at run time.
#
# Plain Dockerfile syntax (no RUN --mount) so that the classic builder, which docker-compose 1.29
# uses by default, builds it as well as BuildKit does.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
# The golang images set GOTOOLCHAIN=local; with auto, an image older than go.mod's go line fetches
# the toolchain it asks for instead of failing.
ENV GOTOOLCHAIN=auto
WORKDIR /src
# Dependencies in their own layer: it is rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# cgo is on for -ldl (dlopen of the embedded engine); bookworm's glibc matches the runtime stage.
RUN CGO_ENABLED=1 go build -trimpath -ldflags='-s -w' -o /out/livepulse ./cmd/livepulse
# The Grafana datasource plugin (dashboards/grafana): a static binary named as plugin.json's
# executable plus this platform, next to plugin.json and module.js. docker-compose.yml's
# grafana-plugin service copies the directory into Grafana's plugins.
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' \
      -o "/out/grafana-plugin/gpx_livepulse_linux_$(go env GOARCH)" ./cmd/grafana-datasource \
 && cp -R dashboards/grafana/plugin/. /out/grafana-plugin/

FROM debian:bookworm-slim
# ca-certificates for TLS to Kafka/ClickHouse; curl for container healthchecks (/readyz).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 livepulse \
 && useradd --system --uid 10001 --gid livepulse --home-dir /var/lib/livepulse --create-home \
      --shell /usr/sbin/nologin livepulse
COPY --from=build /out/livepulse /usr/local/bin/livepulse
COPY --from=build /out/grafana-plugin /usr/local/share/livepulse/grafana-plugin
# Numeric, so that runAsNonRoot-style checks can verify it without reading /etc/passwd.
USER 10001:10001
# The working directory is writable by that user: the default --data-dir (livepulse-data) lands here.
WORKDIR /var/lib/livepulse
EXPOSE 8080
ENTRYPOINT ["livepulse"]
CMD ["run", "--http", "0.0.0.0:8080"]
