#!/bin/bash
# build-bundle.sh OUTDIR [BUILDDIR]: the self-contained GIMP 3 plug-in for the Flatpak GIMP
# (org.gimp.GIMP). Its only shared libraries are GIMP's own (libgimp-3.0, libgimpui-3.0,
# GEGL, babl), GLib/GObject/GIO, GTK 3 and libc/libm: OpenBLAS (with CBLAS), cJSON, utf8proc
# and zlib are linked in. Writes OUTDIR/gimp-diffusion/{gimp-diffusion,presets/}, the folder
# that goes into ~/.var/app/org.gimp.GIMP/config/GIMP/3.<minor>/plug-ins/.
# Needs libgimp-3.0-dev, meson, gcc and the static libraries of libopenblas-dev,
# libutf8proc-dev and zlib1g-dev; cJSON's source comes from apt (fetch-cjson.sh), or from
# GD_CJSON_SOURCE=DIR. Build it on the oldest system you target: the result needs the glibc
# it was built against (tests/bundle/check-bundle.sh builds it in Debian trixie, glibc 2.41,
# and checks that it asks for no symbol newer than GLIBC_2.38).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
OUT=$(realpath -m "${1:?usage: build-bundle.sh OUTDIR [BUILDDIR]}")
B=$(realpath -m "${2:-$SRC/build-bundle}")
CJSON=${GD_CJSON_SOURCE:-${XDG_CACHE_HOME:-$HOME/.cache}/gimp-diffusion/cjson-src}
"$HERE/fetch-cjson.sh" "$CJSON" >&2
opts=(-Dbundle=true -Dgimp=3 -Dbuildtype=release -Dcjson_source="$(realpath "$CJSON")")
if [ -f "$B/build.ninja" ]; then meson configure "$B" "${opts[@]}" >/dev/null
else meson setup "$B" "$SRC" "${opts[@]}" >/dev/null || { echo "build-bundle.sh: meson setup failed: $B/meson-logs/meson-log.txt" >&2; exit 1; }
fi
ninja -C "$B" plugin/gimp-diffusion >&2
rm -rf "$OUT/gimp-diffusion"
mkdir -p "$OUT/gimp-diffusion/presets"
install -m 755 "$B/plugin/gimp-diffusion" "$OUT/gimp-diffusion/gimp-diffusion"
install -m 644 "$SRC"/presets/*.json "$OUT/gimp-diffusion/presets/"
echo "$OUT/gimp-diffusion"
