#!/usr/bin/env bash
# Fetch the evaluation and benchmark data into the layout Bastion's commands expect, checking every file's
# SHA-256 against scripts/data-manifest.tsv. See docs/data.md.
#
#   scripts/get-data.sh [--dest DIR] [--mirror URL] [--manifest FILE] [--check]
#
#   --dest DIR      where to lay the files out (default: ../shared/data, the path the docs use)
#   --mirror URL    base URL (or directory) holding this project's assembled files (the eval/ corpora and files
#                   derived from upstream test data); default $BASTION_DATA_MIRROR. Files with a public upstream
#                   URL (Meta's media test vectors) are fetched from there and need no mirror.
#   --manifest FILE the list of files (default: scripts/data-manifest.tsv)
#   --check         download nothing: verify the files already under DIR
#
# Exit status: 0 when every file is present with the right checksum, 1 otherwise (each problem named).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$here/../../shared/data"
mirror="${BASTION_DATA_MIRROR:-}"
manifest="$here/data-manifest.tsv"
check=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dest) dest="$2"; shift 2 ;;
    --mirror) mirror="$2"; shift 2 ;;
    --manifest) manifest="$2"; shift 2 ;;
    --check) check=1; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "get-data: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

sha256() { sha256sum "$1" | cut -d' ' -f1; }

fetch() {  # fetch URL-or-path to FILE
  case "$1" in
    http://*|https://*|file://*) curl -fsSL --retry 3 --max-time 600 -o "$2" "$1" ;;
    *) cp "$1" "$2" ;;
  esac
}

ok=0 fetched=0 bad=0
while IFS=$'\t' read -r path want bytes source; do
  case "$path" in ''|'#'*) continue ;; esac
  target="$dest/$path"
  if [ -f "$target" ] && [ "$(sha256 "$target")" = "$want" ]; then
    ok=$((ok + 1)); continue
  fi
  if [ "$check" = 1 ]; then
    if [ -f "$target" ]; then echo "get-data: $path: checksum differs (expected $want)" >&2
    else echo "get-data: $path: missing" >&2; fi
    bad=$((bad + 1)); continue
  fi
  if [ "$source" = mirror ]; then
    if [ -z "$mirror" ]; then
      echo "get-data: $path: no public upstream copy; set --mirror or BASTION_DATA_MIRROR (docs/data.md)" >&2
      bad=$((bad + 1)); continue
    fi
    source="${mirror%/}/$path"
  fi
  mkdir -p "$(dirname "$target")"
  tmp="$target.part"
  if ! fetch "$source" "$tmp" 2>/dev/null; then
    echo "get-data: $path: could not fetch $source" >&2
    rm -f "$tmp"; bad=$((bad + 1)); continue
  fi
  got="$(sha256 "$tmp")"
  if [ "$got" != "$want" ]; then
    echo "get-data: $path: fetched file has checksum $got, expected $want (not kept)" >&2
    rm -f "$tmp"; bad=$((bad + 1)); continue
  fi
  mv "$tmp" "$target"
  fetched=$((fetched + 1))
done < "$manifest"

echo "get-data: $ok present, $fetched fetched, $bad problem(s) under $dest"
[ "$bad" = 0 ]
