#!/usr/bin/env bash
# EtlStream's database sinks next to each database's own bulk loader, on the standard job's input (issue 7).
#
#   perf/db-loaders.sh [rows=2000000] [runs=3]
#     DATABASES="postgres mariadb clickhouse"   which databases
#     VARIANTS="default concurrency=1"           etlstream target options to compare (each its own contender;
#                                                 "default" adds none)
#     REPORTS=<folder>                           keep each etlstream run's --report JSON there (stage busy times)
#
# Starts a private PostgreSQL, MariaDB and ClickHouse (Debian's packages; scripts/install-test-servers.sh installs
# them) in a temp folder on free loopback ports, with their default settings. For each database, runs alternate:
#   etlstream : `etlstream load <gz> --table perf/jobs/invoices.yaml --to <db>://…?table=fact_invoice_secondary`
#               (decompress, parse, cast, validate, filter, load; append into the existing, emptied table)
#   native    : the database's own loader on the same CSV, uncompressed, into a table of the CSV's columns as text:
#               psql \copy … (FORMAT csv, HEADER) | mariadb --local-infile LOAD DATA LOCAL INFILE |
#               clickhouse-client --query "INSERT INTO … FORMAT CSVWithNames" < csv
# and prints the median wall time of each, MB/s of uncompressed CSV, and etlstream/native.
# Each run is a whole process; the tables are emptied (untimed) before each run.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-2000000}
runs=${2:-3}
databases=${DATABASES:-postgres mariadb clickhouse}
variants=${VARIANTS:-default}
root=$(pwd)

gz="$root/perf/data/invoices-$rows.csv.gz"
if [ ! -f "$gz" ]; then
  mkdir -p "$root/perf/data"
  dotnet run -c Release --project src/EtlStream.Cli -- generate invoices --rows "$rows" --seed 42 --out "$gz"
fi
dotnet build src/EtlStream.Cli -c Release --nologo -v q >/dev/null
cli=(dotnet "$root/src/EtlStream.Cli/bin/Release/net10.0/EtlStream.Cli.dll")

work=$(mktemp -d /tmp/etlstream-dbperf.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

csv="$work/invoices.csv"
zcat "$gz" > "$csv"
chmod 644 "$csv"
bytes=$(stat -c %s "$csv")
header=$(head -1 "$csv" | tr -d '\r')
IFS=',' read -r -a columns <<< "$header"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
text_columns() { local type=$1 sep="" out=""; for c in "${columns[@]}"; do out+="$sep$c $type"; sep=", "; done; echo "$out"; }
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
wait_for() { # $1 probe command, $2 server log
  for _ in $(seq 1 300); do if eval "$1" >/dev/null 2>&1; then return 0; fi; sleep 0.2; done
  echo "server did not start:" >&2; tail -20 "$2" >&2; eval "$1" >&2 || true; exit 1
}

export ETLSTREAM_DB_PASSWORD=etl-bench-pw

start_postgres() {
  local bin; bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  mkdir -p "$work/pg"; echo "$ETLSTREAM_DB_PASSWORD" > "$work/pg/pw"
  local as=(); if [ "$(id -u)" -eq 0 ]; then chown -R postgres:postgres "$work/pg"; as=(runuser -u postgres --); fi
  "${as[@]}" "$bin/initdb" -D "$work/pg/data" -U etl --pwfile="$work/pg/pw" --auth=scram-sha-256 -E UTF8 --no-locale >/dev/null
  pg_port=$(free_port)
  "${as[@]}" "$bin/postgres" -D "$work/pg/data" -p "$pg_port" -k "$work/pg" -c listen_addresses=127.0.0.1 > "$work/pg/log" 2>&1 &
  pids+=($!)
  export PGPASSWORD=$ETLSTREAM_DB_PASSWORD
  psql_() { psql -h 127.0.0.1 -p "$pg_port" -U etl -d bench -v ON_ERROR_STOP=1 -q "$@"; }
  wait_for "psql -h 127.0.0.1 -p $pg_port -U etl -d postgres -c 'select 1'" "$work/pg/log"
  psql -h 127.0.0.1 -p "$pg_port" -U etl -d postgres -q -c "CREATE DATABASE bench"
  psql_ -c "CREATE TABLE native ($(text_columns text))"
}

start_mariadb() {
  mkdir -p "$work/my"
  mariadb-install-db --no-defaults --datadir="$work/my/data" --user="$(whoami)" --auth-root-authentication-method=normal --skip-test-db >/dev/null
  my_port=$(free_port)
  # The init file takes one statement per line.
  printf "CREATE USER 'etl'@'%%' IDENTIFIED BY '%s';\nGRANT ALL ON *.* TO 'etl'@'%%';\nCREATE DATABASE bench;\n" "$ETLSTREAM_DB_PASSWORD" > "$work/my/init.sql"
  mariadbd --no-defaults --datadir="$work/my/data" --user="$(whoami)" --port="$my_port" --bind-address=127.0.0.1 \
    --socket="$work/my/sock" --pid-file="$work/my/pid" --init-file="$work/my/init.sql" --skip-name-resolve --local-infile=1 \
    --skip-log-bin > "$work/my/log" 2>&1 &
  pids+=($!)
  mariadb_() { mariadb -h 127.0.0.1 -P "$my_port" -u etl "-p$ETLSTREAM_DB_PASSWORD" --local-infile=1 bench "$@"; }
  wait_for "mariadb -h 127.0.0.1 -P $my_port -u etl -p$ETLSTREAM_DB_PASSWORD -e 'select 1'" "$work/my/log"
  mariadb_ -e "CREATE TABLE native ($(text_columns 'varchar(255)')) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
}

start_clickhouse() {
  mkdir -p "$work/ch"
  ch_http=$(free_port); ch_tcp=$(free_port)
  cat > "$work/ch/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <http_port>$ch_http</http_port><tcp_port>$ch_tcp</tcp_port><listen_host>127.0.0.1</listen_host>
  <path>$work/ch/data/</path><tmp_path>$work/ch/tmp/</tmp_path><user_files_path>$work/ch/user_files/</user_files_path>
  <format_schema_path>$work/ch/format_schemas/</format_schema_path>
  <users_config>$work/ch/users.xml</users_config><default_profile>default</default_profile><default_database>default</default_database>
  <mark_cache_size>536870912</mark_cache_size><mlock_executable>false</mlock_executable>
</yandex>
EOF
  cat > "$work/ch/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><etl><password>$ETLSTREAM_DB_PASSWORD</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></etl></users>
  <quotas><default></default></quotas>
</yandex>
EOF
  /usr/sbin/clickhouse-server --config-file="$work/ch/config.xml" > "$work/ch/log" 2>&1 &
  pids+=($!)
  clickhouse_() { clickhouse-client --host 127.0.0.1 --port "$ch_tcp" --user etl --password "$ETLSTREAM_DB_PASSWORD" "$@"; }
  wait_for "clickhouse-client --host 127.0.0.1 --port $ch_tcp --user etl --password $ETLSTREAM_DB_PASSWORD --query 'SELECT 1'" "$work/ch/log"
  clickhouse_ --query "CREATE DATABASE bench"
  clickhouse_ --query "CREATE TABLE bench.native ($(text_columns String)) ENGINE = MergeTree() ORDER BY tuple()"
}

target_for() {
  case $1 in
    postgres) echo "postgres://etl@127.0.0.1:$pg_port/bench?table=fact_invoice_secondary" ;;
    mariadb) echo "mysql://etl@127.0.0.1:$my_port/bench?table=fact_invoice_secondary" ;;
    clickhouse) echo "clickhouse://etl@127.0.0.1:$ch_http/bench?table=fact_invoice_secondary" ;;
  esac
}

empty() { # $1 database, $2 table
  case $1 in
    postgres) psql_ -c "TRUNCATE $2" ;;
    mariadb) mariadb_ -e "TRUNCATE TABLE $2" ;;
    clickhouse) clickhouse_ --query "CREATE TABLE bench.${2}_empty AS bench.$2" && clickhouse_ --query "DROP TABLE bench.$2" \
                  && clickhouse_ --query "RENAME TABLE bench.${2}_empty TO bench.$2" ;;
  esac
}

count() {
  case $1 in
    postgres) psql_ -At -c "SELECT count(*) FROM $2" ;;
    mariadb) mariadb_ -N -e "SELECT count(*) FROM $2" ;;
    clickhouse) clickhouse_ --query "SELECT count() FROM bench.$2" ;;
  esac
}

native_load() {
  case $1 in
    postgres) psql_ -c "\\copy native FROM '$csv' WITH (FORMAT csv, HEADER true)" ;;
    mariadb) mariadb_ -e "LOAD DATA LOCAL INFILE '$csv' INTO TABLE native FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' IGNORE 1 LINES" ;;
    clickhouse) clickhouse_ --query "INSERT INTO bench.native FORMAT CSVWithNames" < "$csv" ;;
  esac
}

etl_load() { # $1 database, $2 variant
  local extra=""; [ "${2:-default}" = default ] || extra="&$2"
  "${cli[@]}" load "$gz" --table perf/jobs/invoices.yaml --to "$(target_for "$1")$extra" --report "$work/report-$1.json" >/dev/null
  if [ -n "${REPORTS:-}" ]; then mkdir -p "$REPORTS"; cp "$work/report-$1.json" "$REPORTS/$1-${2:-default}-$(date +%H%M%S).json"; fi
}

printf "input: %s rows, %s bytes uncompressed (%s)\n" "$rows" "$bytes" "$(basename "$gz")"
printf "%-11s %-24s %4s %9s %8s %9s %7s\n" database loader runs median_s MB/s rows vs_native
for db in $databases; do
  "start_$db"
  etl_load "$db" # warm-up; creates the table from the spec
  native_load "$db"
  declare -A times=()
  for i in $(seq 1 "$runs"); do
    for v in $variants; do
      empty "$db" fact_invoice_secondary
      t0=$(now); etl_load "$db" "$v"; t1=$(now); times[$v]+="$(echo "$t1 - $t0" | bc -l) "
    done
    empty "$db" native
    t0=$(now); native_load "$db"; t1=$(now); times[native]+="$(echo "$t1 - $t0" | bc -l) "
  done
  native_med=$(printf "%s\n" ${times[native]} | median)
  for v in $variants native; do
    med=$(printf "%s\n" ${times[$v]} | median)
    if [ "$v" = native ]; then rows_now=$(count "$db" native); name=native; else rows_now=$(count "$db" fact_invoice_secondary); name="etlstream:$v"; fi
    printf "%-11s %-24s %4s %9.2f %8.1f %9s %6.2fx   runs: %s\n" "$db" "$name" "$runs" "$med" \
      "$(echo "$bytes / 1000000 / $med" | bc -l)" "$rows_now" "$(echo "$native_med / $med" | bc -l)" "${times[$v]}"
  done
  unset times
done
