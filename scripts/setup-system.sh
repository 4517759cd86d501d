#!/usr/bin/env bash
# System packages Bastion needs beyond Python: a C++ compiler (pdqhash builds from source), Debian's
# Chromium (browser tests) and a Java runtime (Spark: bastion spark, tests/spark). Installs only what is
# missing, and only where it can (root with apt-get); elsewhere it says what to install and carries on (the
# browser and Spark tests then skip with a reason).
set -euo pipefail
need=()
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "setup: please install: ${need[*]} (browser tests skip without chromium, Spark tests without java)" >&2
fi
