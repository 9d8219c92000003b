#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what the tests need when it is missing, then runs them all.
# Usage: scripts/test.sh [extra dotnet test arguments, e.g. --filter FullyQualifiedName~Csv]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dotnet >/dev/null 2>&1; then
  echo "error: the .NET SDK (10.0) is required: https://dot.net" >&2
  exit 2
fi

# The servers the tests start on loopback (each in a temp folder, on a free port; see tests/EtlStream.Tests/Servers).
bash scripts/install-test-servers.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test EtlStream.sln -c Release --nologo "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One plain closing line, whatever the runner printed: "tests: N passed, N failed".
passed=$(grep -Eo 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -Eo 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
echo "tests: ${passed} passed, ${failed} failed"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "error: no test ran" >&2
  exit 1
fi
exit "$status"
