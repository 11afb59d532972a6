#!/usr/bin/env bash
# Set up .venv with the test tools (first run only), lint, and run every test over both cores.
# Browser tests need Debian's chromium on PATH; as root we install it, otherwise they
# skip with the reason (under CI=true they must run, and fail if Chromium is absent).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup_venv.sh" requirements-dev.txt
cd "$root"
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing Debian's chromium for the browser tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-color-emoji >/dev/null) \
    || echo "warning: could not install chromium; browser tests will skip"
fi
.venv/bin/ruff check .
.venv/bin/lint-imports --no-cache  # the layer contract in pyproject.toml
# Both cores (pytest-xdist: tests spread one by one, but a file marked xdist_group stays on one
# worker, so its module fixtures, a Ray cluster or a built wheel, start once) in a random
# order: pytest-randomly prints "Using --randomly-seed=N" first, and `bash scripts/test.sh
# -p randomly --randomly-seed=N` replays that order. PYTEST_WORKERS=0: one process.
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-auto}" --dist loadgroup "$@"
