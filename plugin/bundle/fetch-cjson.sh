#!/bin/bash
# fetch-cjson.sh DIR: cJSON's source from the distribution's own source package (apt-get
# source; Debian and Ubuntu ship no static libcjson), laid out for -Dcjson_source=DIR:
# DIR/cJSON.c and DIR/include/cjson/cJSON.h. Works as any user: apt runs on a private state
# folder with the system's deb lines turned into deb-src lines, and checks the package's
# signature and hashes as usual. Does nothing when DIR already holds them.
set -euo pipefail
DIR=$(realpath -m "${1:?usage: fetch-cjson.sh DIR}")
[ -f "$DIR/cJSON.c" ] && [ -f "$DIR/include/cjson/cJSON.h" ] && { echo "cJSON source: $DIR"; exit 0; }
command -v apt-get >/dev/null || { echo "fetch-cjson.sh: no apt-get here: put cJSON.c and include/cjson/cJSON.h (cJSON 1.7.x) in $DIR by hand" >&2; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/parts"
# deb lines -> deb-src lines (one-line and deb822 formats)
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] && sed -n 's/^deb \(.*\)/deb-src \1/p' "$f"
done > "$work/sources.list"
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] && sed 's/^Types:.*/Types: deb-src/' "$f" > "$work/parts/${f##*/}"
done
apt_opts=(-q -o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts="$work/parts"
          -o Dir::State::Lists="$work/lists" -o Dir::Cache="$work/cache" -o Debug::NoLocking=1
          -o APT::Sandbox::User="$(id -un)")
apt-get "${apt_opts[@]}" update >"$work/update.log" 2>&1 ||
  { cat "$work/update.log" >&2; echo "fetch-cjson.sh: apt-get update of the source lists failed" >&2; exit 1; }
(cd "$work" && apt-get "${apt_opts[@]}" source --download-only cjson >"$work/source.log" 2>&1) ||
  { cat "$work/source.log" >&2; echo "fetch-cjson.sh: apt-get source cjson failed" >&2; exit 1; }
orig=$(ls "$work"/cjson_*.orig.tar.* | head -n1)
mkdir -p "$work/x" "$DIR/include/cjson"
tar -xf "$orig" -C "$work/x"
src=$(dirname "$(find "$work/x" -name cJSON.c -not -path '*/tests/*' | head -n1)")
cp "$src/cJSON.c" "$DIR/cJSON.c"
cp "$src/cJSON.h" "$DIR/include/cjson/cJSON.h"
cp "$src/LICENSE" "$DIR/LICENSE" 2>/dev/null || true
echo "cJSON source: $DIR (from ${orig##*/})"
