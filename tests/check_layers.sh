#!/bin/bash
# The engine's layering rule (engine/README.md): a folder of engine/src includes only from
# itself and from the folders it is allowed to build on. Prints each include that breaks
# the rule and fails; the public header (sd.h, sd_preset.h) may be included anywhere.
set -euo pipefail
src=${1:-$(dirname "$0")/../engine/src}
declare -A allowed=(
  [core]=""
  [ops]="core"
  [io]="core ops"
  [layers]="core ops io"
  [text/cleanup]="core"
  [text]="core text/cleanup"
  [sched]="core"
  [nets]="core ops io layers"
  [pipeline]="core ops io layers text text/cleanup sched nets"
  [presets]="core"
)
bad=0 n=0
while IFS= read -r file; do
  rel=${file#"$src"/}
  folder=${rel%/*}
  [ "$folder" = "$rel" ] && { echo "check_layers: $rel: source file at the top of engine/src"; bad=1; continue; }
  [ -n "${allowed[$folder]+x}" ] || { echo "check_layers: $rel: folder $folder has no rule here"; bad=1; continue; }
  while IFS= read -r inc; do
    n=$((n + 1))
    case $inc in */*) ;; *) continue ;; esac   # same folder or public header
    dep=${inc%/*}
    [ "$dep" = "$folder" ] && continue
    ok=0
    for a in ${allowed[$folder]}; do [ "$a" = "$dep" ] && ok=1; done
    [ $ok = 1 ] || { echo "check_layers: $rel includes \"$inc\": $folder may not include from $dep"; bad=1; }
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
done < <(find "$src" -name '*.[ch]' | sort)
if [ $bad = 0 ]; then echo "check_layers: $n includes follow the layering"; fi
exit $bad
