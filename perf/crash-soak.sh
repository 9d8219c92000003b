#!/usr/bin/env bash
# Soak of the exactly-once crash tests (DuckDB, PostgreSQL, StarRocks protocol server): each round runs them with
# another seed and more SIGKILLs than CI's 20. Usage: perf/crash-soak.sh [rounds=10] [kills per test=60]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-10}"
kills="${2:-60}"
bash scripts/install-test-servers.sh
dotnet build tests/EtlStream.Tests -c Release --nologo -v quiet
failed=0
for round in $(seq 1 "$rounds"); do
  if ETLSTREAM_CRASH_SEED="$round" ETLSTREAM_CRASH_ITERATIONS="$kills" dotnet test tests/EtlStream.Tests -c Release --no-build --nologo \
      --filter "FullyQualifiedName~killed_at_random_moments" > "/tmp/crash-soak-$round.log" 2>&1; then
    echo "round $round (seed $round, $kills kills per test): passed"
  else
    echo "round $round (seed $round, $kills kills per test): FAILED, see /tmp/crash-soak-$round.log"
    failed=$((failed + 1))
  fi
done
echo "crash soak: $((rounds - failed)) of $rounds rounds passed"
[ "$failed" -eq 0 ]
