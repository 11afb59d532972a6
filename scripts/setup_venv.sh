#!/usr/bin/env bash
# Create .venv at the repository root and install a requirements file into it.
# Re-running is cheap: a stamp records the hash of what was installed last.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
req="${1:-requirements.txt}"
cd "$root"
py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$py" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
stamp=".venv/.installed-$(basename "$req")"
want="$(cat "$req" requirements.txt 2>/dev/null | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> installing $req into .venv (torch comes from the local disk where available)"
  .venv/bin/python -m pip install -q -r "$req"
  echo "$want" > "$stamp"
fi
# The package itself, editable, so tests, benches and the app import the working tree's clr_core.
if [ ! -f .venv/.editable ]; then
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation -e . && touch .venv/.editable
fi
