#!/usr/bin/env bash
# Set up .venv (first run only) and start CLR Studio on http://localhost:8501:
# `clr-studio app`, which runs `streamlit run app.py --browser.gatherUsageStats false "$@"`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup_venv.sh" requirements.txt
cd "$root"
exec .venv/bin/clr-studio app "$@"
