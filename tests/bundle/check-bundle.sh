#!/bin/bash
# The Flatpak build of the plug-in (-Dbundle=true), tested as the Flatpak GIMP would run it.
# usage (root): check-bundle.sh SOURCE_ROOT MODEL VOCAB OUTDIR
#  1. builds plugin/bundle/build-bundle.sh in the Debian trixie chroot (GIMP 3.0 headers,
#     glibc 2.41), offline, with cJSON's source from the cache (GD_CJSON_SOURCE, fetched by
#     install.sh --deps-only);
#  2. checks its dynamic dependencies: every NEEDED library is on the allowed list (GIMP's own,
#     GEGL, babl, GLib/GObject/GIO, GTK 3 and their dependencies such as zlib, libc/libm/
#     libpthread), none of OpenBLAS, cJSON,
#     utf8proc, gfortran; and no glibc symbol newer than GLIBC_2.38;
#  3. runs the GIMP 3 end-to-end test (and a 1-step SD 2 Turbo job with ../golden-sd2's tiny
#     model) with it in the GIMP 3.2 chroot (Debian sid) after
#     removing OpenBLAS, cJSON, utf8proc and the compilers from a throw-away overlay of that
#     chroot: nothing of our build dependencies is left there.
# Exit 0 = pass, 1 = fail, 77 = skipped (no chroots, or not root).
set -u
SRC=$(realpath "${1:?source root}") MODEL=$(realpath -m "${2:?model}") VOCAB=$(realpath -m "${3:?vocab}")
OUT=$(realpath -m "${4:?outdir}")
HOST=${GIMP_HOST_DIR:-/var/tmp/gimp-host}
BUILD_R=$(realpath -m "${GIMP3_CHROOT:-$HOST/trixie}")
RUN_R=$(realpath -m "${GIMP32_CHROOT:-$HOST/sid}")
CJSON=$(realpath -m "${GD_CJSON_SOURCE:-$HOST/cache/cjson-src}")
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || skip "needs root for the chroots (unshare + mount)"
[ -x "$BUILD_R/usr/bin/gimp-console-3.0" ] || skip "no GIMP 3.0 chroot at $BUILD_R: tests/gimp/make-gimp3-chroot.sh"
[ -x "$RUN_R/usr/bin/gimp-console-3.2" ] || skip "no GIMP 3.2 chroot at $RUN_R: GIMP3_SUITE=sid tests/gimp/make-gimp3-chroot.sh"
[ -f "$CJSON/cJSON.c" ] || skip "no cJSON source at $CJSON: plugin/bundle/fetch-cjson.sh $CJSON (install.sh --deps-only does it)"
rm -rf "$OUT"; mkdir -p "$OUT"

# in_chroot ROOT BINDS... -- COMMAND: COMMAND in a throw-away overlay of ROOT, no network;
# each BIND is SRC:DEST[:ro]
in_chroot() {
  local root=$1; shift
  local binds=()
  while [ "$1" != -- ]; do binds+=("$1"); shift; done; shift
  unshare --mount --propagation private --pid --fork --kill-child --net /bin/bash -c '
    set -e
    R=$1 OVL=$2 CMD=$3; shift 3
    mkdir -p "$OVL"; mount -t tmpfs tmpfs "$OVL"
    mkdir "$OVL/up" "$OVL/work" "$OVL/root"
    mount -t overlay overlay -o "lowerdir=$R,upperdir=$OVL/up,workdir=$OVL/work" "$OVL/root"
    C=$OVL/root
    mount -t proc proc "$C/proc"; mount -t sysfs sysfs "$C/sys"; mount --rbind /dev "$C/dev"
    mount -t tmpfs -o mode=1777 tmpfs "$C/dev/shm"
    for b in "$@"; do
      IFS=: read -r from to ro <<<"$b"
      mkdir -p "$C$to"; mount --bind "$from" "$C$to"
      [ -z "$ro" ] || mount -o remount,bind,ro "$C$to"
    done
    exec chroot "$C" /usr/bin/env -i HOME=/root LANG=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin \
      /bin/bash -c "$CMD"
  ' in-chroot "$root" "$OUT/overlay-$(basename "$root")" "$*" "${binds[@]}"
}

# 1. build
t=$(date +%s)
in_chroot "$BUILD_R" "$SRC:/gd/src:ro" "$CJSON:/gd/cjson:ro" "$OUT:/gd/out" -- \
  "GD_CJSON_SOURCE=/gd/cjson /gd/src/plugin/bundle/build-bundle.sh /gd/out/bundle /gd/out/build >/gd/out/build.log 2>&1" ||
  { tail -30 "$OUT/build.log"; fail "the bundle did not build (log: $OUT/build.log)"; }
PLUGIN=$OUT/bundle/gimp-diffusion/gimp-diffusion
[ -x "$PLUGIN" ] || fail "no $PLUGIN after the build"
echo "ok   bundle built in the trixie chroot in $(( $(date +%s) - t )) s: $(du -h "$PLUGIN" | cut -f1)"

# 2. what it links
allowed='^(libz|libgimp-3\.0|libgimpui-3\.0|libgimpbase-3\.0|libgimpcolor-3\.0|libgimpconfig-3\.0|libgimpmath-3\.0|libgimpmodule-3\.0|libgimpwidgets-3\.0|libgegl-0\.4|libgegl-npd-0\.4|libbabl-0\.1|libglib-2\.0|libgobject-2\.0|libgio-2\.0|libgmodule-2\.0|libgtk-3|libgdk-3|libgdk_pixbuf-2\.0|libcairo|libpango-1\.0|libpangocairo-1\.0|libc|libm|libpthread|libgcc_s|ld-linux-x86-64)\.so'
needed=$(objdump -p "$PLUGIN" | awk '$1 == "NEEDED" { print $2 }')
bad=0
while IFS= read -r lib; do
  if [[ $lib =~ $allowed ]]; then echo "ok   NEEDED $lib"; else echo "FAIL NEEDED $lib: not on the allowed list"; bad=1; fi
done <<<"$needed"
glibc_max=$(objdump -T "$PLUGIN" | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -n1)
if [ "$(printf '%s\nGLIBC_2.38\n' "$glibc_max" | sort -V | tail -n1)" = GLIBC_2.38 ]; then
  echo "ok   newest glibc symbol: $glibc_max (<= GLIBC_2.38)"
else echo "FAIL newest glibc symbol: $glibc_max (> GLIBC_2.38)"; bad=1; fi
[ $bad = 0 ] || fail "the bundle's dynamic dependencies"

# 3. end-to-end in GIMP 3.2 with our build dependencies removed
purge='libopenblas* libblas* liblapack* libcjson* libutf8proc* libgfortran* gcc gcc-[0-9]* cpp cpp-[0-9]* meson ninja-build'
# the LoRA and TAESD fixtures beside the model folder, where gimp3-e2e.sh looks for them,
# and the tiny SD 2.x models for one 1-step Turbo job (GD_SD2_TURBO_DIR)
fixtures=() turbo=
for f in golden-lora golden-taesd golden-sd2; do
  d=$(realpath -m "$(dirname "$MODEL")/../$f")
  [ ! -d "$d" ] || fixtures+=("$d:/gd/$f:ro")
done
[ ! -r "$(dirname "$MODEL")/../golden-sd2/tiny-sd2.safetensors" ] || turbo=GD_SD2_TURBO_DIR=/gd/golden-sd2
in_chroot "$RUN_R" "$SRC:/gd/src:ro" "$OUT:/gd/out" "$(dirname "$MODEL"):/gd/model:ro" "$VOCAB:/gd/vocab:ro" \
  "${fixtures[@]}" -- "
  set -e
  pkgs=\$(dpkg-query -W -f='\${Package}\n' $purge 2>/dev/null || true)
  [ -z \"\$pkgs\" ] || dpkg --purge --force-depends \$pkgs >/gd/out/purge.log 2>&1
  for l in libopenblas libcjson libutf8proc; do
    ! ldconfig -p | grep -q \"\$l\" || { echo \"FAIL \$l is still in the run chroot\"; exit 1; }
  done
  ! command -v gcc >/dev/null || { echo 'FAIL gcc is still in the run chroot'; exit 1; }
  echo 'ok   run chroot: GIMP' \$(gimp-console-3.2 --version | grep -o '[0-9.]*\$') 'without OpenBLAS, cJSON, utf8proc, gcc'
  ldd /gd/out/bundle/gimp-diffusion/gimp-diffusion | grep -q 'not found' &&
    { ldd /gd/out/bundle/gimp-diffusion/gimp-diffusion; echo 'FAIL unresolved libraries'; exit 1; }
  $turbo GIMP3_CONSOLE=gimp-console-3.2 GIMP3_GUI=gimp-3.2 exec /gd/src/tests/gimp/gimp3-e2e.sh /gd/out/bundle/gimp-diffusion/gimp-diffusion \
    /gd/model/$(basename "$MODEL") /gd/vocab /gd/out/e2e
"
