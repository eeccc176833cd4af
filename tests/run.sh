#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: installs the Debian packages the
# real-service tests need when they are missing, builds a venv with the project and its
# test tools, then runs ruff, the import contracts, mypy (strict, on cockpit/ and widgets/) and pytest.
#   usage: bash tests/run.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(openssh-server openssh-client prometheus redis-server sqlite3
      php-cli php-fpm php-redis php-sqlite3 php-laravel-framework php-doctrine-dbal openssl
      prometheus-alertmanager   # tests/integrations: a real Alertmanager fed by a real Prometheus
      asciinema                 # the real player reads recordings back
      procps passwd mount e2fsprogs   # ps/pgrep/pkill, useradd/groupadd, mount (tinyfs), chattr: base
                                      # packages that a slim image may lack
      chromium fonts-dejavu-core)   # chromium: tests/serve drive it with Playwright (never a downloaded browser)
missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "tests/run.sh: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # policy-rc.d keeps the packages' own services from starting: the tests start their own.
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
VENV=${COCKPIT_VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install -q -e '.[test]'

echo "== ruff"
"$VENV/bin/ruff" check cockpit widgets tests
echo "== import contracts"
"$VENV/bin/lint-imports"
echo "== mypy"
"$VENV/bin/mypy"  # files and strictness: [tool.mypy] in pyproject.toml
echo "== pytest"
exec "$VENV/bin/python" -m pytest "$@"
