#!/usr/bin/env bash
# System packages the test suite uses for real components. Installed only when
# missing, from Debian's packages (CI runs as root with the registries reachable).
set -euo pipefail
need=()
command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
  || need+=(postgresql)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
ldconfig -p 2>/dev/null | grep -q libgomp || need+=(libgomp1)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing system packages for the tests: ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "WARNING: missing ${need[*]}; the tests that need them will be skipped" >&2
  fi
fi
