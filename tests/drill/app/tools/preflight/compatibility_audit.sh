#!/usr/bin/env bash
# Post-rollback drift audit (drill version of tools/preflight/compatibility_audit.sh):
# the runtime flag is back to FPM, no cached config hides .env, the contract migration is
# rolled back and the expand one kept. Exit 1 with one line per drift found.
#   usage: tools/preflight/compatibility_audit.sh --mode=post-rollback
set -uo pipefail
cd "$(dirname "$0")/../.."
[ "${1:-}" = "--mode=post-rollback" ] || { echo "usage: $0 --mode=post-rollback" >&2; exit 2; }
drift=0
grep -qx 'OCTANE_ENABLED=false' .env || { echo "drift: OCTANE_ENABLED is not false in .env"; drift=1; }
if [ -e bootstrap/cache/config.php ] && php -r 'exit((require "bootstrap/cache/config.php")["octane"]["enabled"] ? 0 : 1);'; then
  echo "drift: the cached config still has Octane enabled (run config:cache)"; drift=1
fi
php artisan octane:status >/dev/null && { echo "drift: Octane server still running"; drift=1; }
status=$(php artisan migrate:status --path=database/migrations --path=database/migrations/expand --path=database/migrations/contract)
echo "$status" | grep -q 'Yes .*add_display_title_to_courses' || { echo "drift: expand migration not applied"; drift=1; }
echo "$status" | grep -q 'No .*drop_title_from_courses' || { echo "drift: contract migration still applied"; drift=1; }
[ $drift -eq 0 ] && echo "compatibility audit (post-rollback): no drift on ${ACADEMY_HOST:-$(hostname)}"
exit $drift
