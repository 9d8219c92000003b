#!/usr/bin/env bash
# Puts `etlstream` on the PATH: packs src/EtlStream.Cli as a .NET tool and installs it for this user
# (dotnet tool install --global), or updates an earlier install in place. Needs only the .NET 10 SDK.
# Usage: scripts/install.sh [--tool-path DIR]   (DIR instead of ~/.dotnet/tools; the tests install there)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dotnet >/dev/null 2>&1; then
  echo "error: the .NET SDK (10.0) is required: https://dot.net" >&2
  exit 2
fi

where=(--global)
dir="${HOME}/.dotnet/tools"
if [ "$#" -gt 0 ]; then
  if [ "$1" != "--tool-path" ] || [ "$#" -ne 2 ] || [ -z "$2" ]; then
    echo "usage: scripts/install.sh [--tool-path DIR]" >&2
    exit 2
  fi
  mkdir -p "$2"
  dir="$(cd "$2" && pwd)"
  where=(--tool-path "$dir")
fi

# Each pack gets its own version: NuGet caches a package by id and version, so reinstalling a rebuilt tool under
# the same version would install the cached, older bits.
version="0.1.0-local.$(date -u +%Y%m%d%H%M%S)"
feed="artifacts/tool"
rm -f "$feed"/EtlStream.Cli.*.nupkg
dotnet pack src/EtlStream.Cli -c Release -o "$feed" -p:PackageVersion="$version" --nologo -v quiet >&2
# `tool update` installs when the tool is missing and replaces it when present.
dotnet tool update "${where[@]}" --add-source "$feed" --version "$version" EtlStream.Cli >&2

echo "installed etlstream ${version} in ${dir}"
case ":${PATH}:" in
  *":${dir}:"*) echo "run: etlstream --help" ;;
  *) echo "${dir} is not on your PATH: add it, e.g. echo 'export PATH=\"\$PATH:${dir}\"' >> ~/.bashrc, then open a new shell" ;;
esac
