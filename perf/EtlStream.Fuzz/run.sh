#!/usr/bin/env bash
# Coverage-guided fuzzing with afl++ and SharpFuzz of the decompression front end, CSV parser and transform kernels
# (target csv, seeds/) or of the table spec and tenant.yaml readers (target yaml, seeds-yaml/).
# Usage: perf/EtlStream.Fuzz/run.sh [seconds=300] [csv|yaml]. Installs afl++ and the sharpfuzz tool when missing.
# Findings (crashing or hanging inputs) land in perf/EtlStream.Fuzz/findings[-yaml]/default/{crashes,hangs}.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-300}"
target="${2:-csv}"
case "$target" in
  csv) seeds=seeds findings=findings ;;
  yaml) seeds=seeds-yaml findings=findings-yaml ;;
  *) echo "unknown target '$target' (csv or yaml)" >&2; exit 2 ;;
esac
export FUZZ_TARGET="$target"
command -v afl-fuzz >/dev/null || { apt-get update -qq && apt-get install -y -qq afl++ >/dev/null; }
export PATH="$PATH:$HOME/.dotnet/tools"
command -v sharpfuzz >/dev/null || dotnet tool install --global SharpFuzz.CommandLine >/dev/null
dotnet build -c Release -o out --nologo -v quiet
sharpfuzz out/EtlStream.dll            # instruments this copy of the engine only
# The instrumentation is in the .NET assembly (sharpfuzz), not in the dotnet host afl-fuzz checks.
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
afl-fuzz -i "$seeds" -o "$findings" -t 10000 -m none -V "$seconds" -- dotnet out/EtlStream.Fuzz.dll
crashes=$(find "$findings"/default/crashes -type f ! -name README.txt 2>/dev/null | wc -l)
hangs=$(find "$findings"/default/hangs -type f 2>/dev/null | wc -l)
echo "fuzz ($target): ${crashes} crashes, ${hangs} hangs ($findings/default)"
