#!/usr/bin/env bash
# The DuckDB sink (the embedded default) next to DuckDB's own load of the same job into a table (issue 17, goal 1).
#
#   perf/duckdb-sink.sh [rows=2000000] [runs=3]
#     BASE_CLI=<EtlStream.Cli.dll of another build>   also run that build, as contender "etlstream (base)"
#     ETL_ARGS="…"                                     extra `load` arguments for this build (e.g. "--parallel-files 1")
#
# Contenders alternate, each a whole process timed by /usr/bin/time (wall, max RSS), after one untimed warm-up round:
#   etlstream : etlstream load <gz> --table perf/jobs/invoices.yaml --to duckdb:<work>/etl.duckdb?table=f
#   duckdb    : DuckDB.NET, SET threads = 2; CREATE TABLE f AS <the standard job's query over read_csv(<gz>)>
#               into <work>/duck.duckdb (perf/EtlStream.Benchmarks: duckdb-table)
# Both database files are deleted before each run. Prints medians, MB/s of uncompressed CSV, peak RSS and
# duckdb/etlstream, checks the two tables hold the same rows (EXCEPT ALL both ways), and writes the table to
# perf/results/duckdb-sink-<rows>.md. The machine is shared: the ratio within one run is the figure to quote.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-2000000}
runs=${2:-3}
root=$(pwd)

gz="$root/perf/data/invoices-$rows.csv.gz"
dotnet build perf/EtlStream.Benchmarks -c Release --nologo -v q >/dev/null
bench=(dotnet "$root/perf/EtlStream.Benchmarks/bin/Release/net10.0/EtlStream.Benchmarks.dll")
cli=(dotnet "$root/src/EtlStream.Cli/bin/Release/net10.0/EtlStream.Cli.dll")
if [ ! -f "$gz" ]; then
  mkdir -p "$root/perf/data"
  "${cli[@]}" generate invoices --rows "$rows" --seed 42 --out "$gz"
fi

# Databases in memory where there is a tmpfs, so a slow shared disk does not decide the comparison (as the e2e harness).
base=/dev/shm; [ -d "$base" ] || base=${TMPDIR:-/tmp}
work=$(mktemp -d "$base/etlstream-duckperf.XXXXXX")
trap 'rm -rf "$work"' EXIT
bytes=$(gzip -dc "$gz" | wc -c)

contenders=(etlstream duckdb)
[ -n "${BASE_CLI:-}" ] && contenders+=(base)
run() { # $1 contender → "<wall s> <max RSS KB>"
  rm -f "$work"/*.duckdb "$work"/*.duckdb.wal
  local cmd
  case $1 in
    etlstream) cmd=("${cli[@]}" load "$gz" --table perf/jobs/invoices.yaml --to "duckdb:$work/etl.duckdb?table=f" ${ETL_ARGS:-}) ;;
    base) cmd=(dotnet "$BASE_CLI" load "$gz" --table perf/jobs/invoices.yaml --to "duckdb:$work/base.duckdb?table=f") ;;
    duckdb) cmd=("${bench[@]}" duckdb-table "$gz" "$work/duck.duckdb" f) ;;
  esac
  /usr/bin/time -f "%e %M" -o "$work/time" "${cmd[@]}" >/dev/null
  cat "$work/time"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

declare -A wall=() peak=()
loads=""
for round in $(seq 0 "$runs"); do
  for c in "${contenders[@]}"; do
    read -r t kb < <(run "$c")
    printf "%-8s %-10s %7.2f s  peak %5d MB  (load average %s)\n" "$([ "$round" = 0 ] && echo warm-up || echo "run $round")" "$c" "$t" $((kb / 1024)) "$(cut -d' ' -f1 /proc/loadavg)"
    if [ "$round" -gt 0 ]; then wall[$c]+="$t "; peak[$c]="$(printf "%s\n" ${peak[$c]:-0} $((kb / 1024)) | sort -n | tail -1)"; fi
  done
  loads+="$(cut -d' ' -f1 /proc/loadavg) "
done

# The last round's tables are still there: compare them.
run etlstream >/dev/null; cp "$work/etl.duckdb" "$work/etl-keep.duck"
run duckdb >/dev/null
check=$("${bench[@]}" duckdb-compare "$work/etl-keep.duck" "$work/duck.duckdb" f) || true

duck=$(printf "%s\n" ${wall[duckdb]} | median)
out="$root/perf/results/duckdb-sink-$rows.md"
{
  echo "# The standard job into a DuckDB table, $(printf "%'d" "$rows") rows"
  echo
  echo "$(date -u +%F), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GB, $(. /etc/os-release; echo "$PRETTY_NAME"), load average at each round: $loads"
  echo "Input: $((bytes / 1000000)) MB uncompressed. Medians of $runs runs after a warm-up, contenders alternating, each a whole process; peak = max RSS over the runs."
  echo
  echo "| contender | wall (median) | uncompressed MB/s | peak memory (max) | throughput vs DuckDB | runs (s) |"
  echo "|---|---|---|---|---|---|"
  for c in "${contenders[@]}"; do
    m=$(printf "%s\n" ${wall[$c]} | median)
    case $c in
      etlstream) name="EtlStream → \`duckdb:…?table=f\`" ;;
      base) name="EtlStream (base build) → \`duckdb:…?table=f\`" ;;
      duckdb) name="DuckDB (2 threads) \`CREATE TABLE f AS SELECT … FROM read_csv(…)\`" ;;
    esac
    printf "| %s | %.2f s | %.0f | %s MB | %.2f× | %s|\n" "$name" "$m" "$(echo "$bytes / 1000000 / $m" | bc -l)" "${peak[$c]}" "$(echo "$duck / $m" | bc -l)" "${wall[$c]}"
  done
  echo
  echo "$check"
  echo
  echo "Produced by \`perf/duckdb-sink.sh $rows $runs\`."
} > "$out"
echo; cat "$out"
