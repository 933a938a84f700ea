#!/usr/bin/env bash
# Installs what livepulse needs at run and test time, idempotently:
#   - libchdb.so (the embedded ClickHouse engine) into $LIVEPULSE_HOME/chdb/<version>/, from npm;
#   - with --test: what the tests drive besides livepulse (apt, when missing): Debian's kcat (a
#     Kafka client nobody here wrote), docker-compose (validates docker-compose.yml) and
#     clickhouse-server (18.16: a real server for the clickhouse-go backend's wire tests) and
#     chromium (the board's headless-browser test).
# Nothing here is needed to *build* livepulse: the engine is loaded with dlopen at run time.
set -euo pipefail

CHDB_VERSION=26.7.3-stable.1
LIVEPULSE_HOME=${LIVEPULSE_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/livepulse}
dest="$LIVEPULSE_HOME/chdb/$CHDB_VERSION"

if [ ! -s "$dest/libchdb.so" ]; then
  command -v npm >/dev/null || { echo "setup: npm is needed to fetch libchdb.so (apt-get install npm)" >&2; exit 1; }
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "setup: fetching @chdb/lib-linux-x64-gnu@$CHDB_VERSION (about 180 MB) ..." >&2
  (cd "$tmp" && npm pack --silent "@chdb/lib-linux-x64-gnu@$CHDB_VERSION" >/dev/null 2>&1)
  tar -xzf "$tmp"/chdb-lib-linux-x64-gnu-*.tgz -C "$tmp" package/libchdb.so
  mkdir -p "$dest"
  mv "$tmp/package/libchdb.so" "$dest/libchdb.so.part" && mv "$dest/libchdb.so.part" "$dest/libchdb.so"
  echo "setup: installed $dest/libchdb.so" >&2
fi

if [ "${1:-}" = "--test" ]; then
  missing=()
  command -v kcat >/dev/null || missing+=(kcat)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  command -v clickhouse-server >/dev/null || missing+=(clickhouse-server)
  command -v chromium >/dev/null || missing+=(chromium)
  if [ ${#missing[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup: installing ${missing[*]} with apt" >&2
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi
