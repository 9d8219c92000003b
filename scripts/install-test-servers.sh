#!/usr/bin/env bash
# Installs the real servers the tests run against, when they are missing: PostgreSQL, MariaDB and ClickHouse
# from Debian's packages, Azurite (Azure Blob) and s3rver (S3) from npm. Nothing is started here: each test
# fixture starts its own server in a temp folder on a free loopback port. Idempotent; quiet when all is there.
set -euo pipefail

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

missing=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server mariadb-client)
command -v clickhouse-server >/dev/null 2>&1 || [ -x /usr/bin/clickhouse-server ] || missing+=(clickhouse-server clickhouse-client)
# Not a server: the progress display's tests run the CLI in a real terminal of a set width.
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
# Not a server either: the Ctrl+C test starts the CLI through python3 to give it SIGINT at its default action.
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]} (apt-get)" >&2
  # The packages' own services are not wanted: the fixtures start private instances.
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  $sudo rm -f /usr/sbin/policy-rc.d
fi

npm_missing=()
command -v azurite-blob >/dev/null 2>&1 || npm_missing+=(azurite@3)
command -v s3rver >/dev/null 2>&1 || npm_missing+=(s3rver@3)
if [ "${#npm_missing[@]}" -gt 0 ]; then
  echo "installing ${npm_missing[*]} (npm)" >&2
  $sudo npm install -g --silent --no-fund --no-audit "${npm_missing[@]}" >/dev/null
fi
