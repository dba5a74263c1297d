#!/usr/bin/env bash
# Creates (once) the Python virtualenv with the official Microsoft Graph SDK used by the
# simulator's SDK-compatibility test, and prints the path of its python.
#
#   TEAMLINE_SDK_VENV   where to create it (default: <repo>/target/graph-sdk-venv)
#
# Usage: export TEAMLINE_TEST_PYTHON="$(scripts/sdk-venv.sh)"
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${TEAMLINE_SDK_VENV:-$repo/target/graph-sdk-venv}"
req="$repo/scripts/graph-sdk-check/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  echo "creating the Graph SDK virtualenv in $venv" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
  echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
