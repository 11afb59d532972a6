#!/usr/bin/env bash
# Create .venv at the repository root and install a requirements file into it.
# The requirements files name the package itself, editable (`-e .` or `-e .[extra]`), so pip
# installs pyproject.toml's dependencies and the working tree's clr_core and app.
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
# The editable install builds with the venv's own setuptools (no isolated build
# environment to download); pyproject.toml's license field needs setuptools 77.
if ! .venv/bin/python -c "import setuptools, sys; sys.exit(int(setuptools.__version__.split('.')[0]) < 77)" 2>/dev/null; then
  .venv/bin/python -m pip install -q "setuptools>=77"
fi
stamp=".venv/.installed-$(basename "$req")"
want="$(cat "$req" pyproject.toml 2>/dev/null | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> installing $req into .venv (torch comes from the local disk where available)"
  .venv/bin/python -m pip install -q --no-build-isolation -r "$req"
  echo "$want" > "$stamp"
fi
