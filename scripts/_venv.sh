# Sourced by scripts/*: makes .venv if missing and installs the project with the extras given.
# Usage: ensure_venv EXTRA[,EXTRA]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

ensure_venv() {
    local extras="$1"
    local py="${PYTHON:-python3}"
    if [ ! -x "$VENV/bin/python" ]; then
        "$py" -m venv "$VENV"
    fi
    # Re-install only when pyproject.toml changed since the last install of these extras.
    local stamp="$VENV/.installed-${extras//,/-}"
    if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
        # pip's notes about this machine's local indexes are noise: keep only what matters.
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[$extras]" \
            2>&1 | { grep -v "WARNING: Location" || true; }
        touch "$stamp"
    fi
}
