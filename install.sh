#!/bin/bash
# gimp-diffusion installer: build dependencies (apt), a release build, the plug-in in the
# GIMP profile(s) found here, the presets, icons and the `diffuse` CLI, the model set-up and
# the config file the plug-in reads. Every file it writes is listed in a manifest, so
# --uninstall removes exactly those. Running it again is harmless. ./install.sh --help
set -euo pipefail

SRC=$(cd "$(dirname "$0")" && pwd)
NAME=gimp-diffusion
CONFIG_DIR=${XDG_CONFIG_HOME:-$HOME/.config}/$NAME
CONFIG=$CONFIG_DIR/config.json
MANIFEST=$CONFIG_DIR/installed-files
USER_PREFIX=$HOME/.local
DATA=$USER_PREFIX/share/$NAME
MESON_MIN=0.63

# Debian 12/13 and Ubuntu 22.04+ names. Build: the engine, the CLI and the plug-in core;
# test: what tests/run.sh needs beyond the build (the GIMP end-to-end checks read PNGs).
# libpng/libjpeg/libwebp: the images of the diffuse CLI (engine/tools/image_io.h).
APT_BUILD=(build-essential meson ninja-build pkg-config libopenblas-dev libcjson-dev
           zlib1g-dev libutf8proc-dev libgegl-dev libbabl-dev libpng-dev libjpeg-dev libwebp-dev)
APT_TEST=(python3-pil procps bc clang)  # clang (+ its recommended runtimes): fuzzers, sanitizers
# what the GIMP tests need beyond that (tests/gimp, tests/bundle): GIMP 2.10 natively, Xvfb and
# friends for the dialogs, debootstrap + zstd for the GIMP 3.0 / 3.2 chroots
APT_GIMP_TEST=(gimp libgimp2.0-dev xvfb xauth x11-utils dbus xdotool debootstrap gdb imagemagick zstd)
APT_GIMP2=libgimp2.0-dev
APT_GIMP3=libgimp-3.0-dev
DNF_BUILD="gcc meson ninja-build pkgconf-pkg-config openblas-devel cjson-devel zlib-devel utf8proc-devel gegl04-devel babl-devel libpng-devel libjpeg-turbo-devel libwebp-devel gimp-devel python3-pillow"
PACMAN_BUILD="base-devel meson ninja pkgconf openblas cjson zlib libutf8proc gegl babl libpng libjpeg-turbo libwebp gimp python-pillow"

# Stable Diffusion 1.5, fp16 single file (2.1 GB), and the CLIP BPE table (1.3 MB).
# Hugging Face serves the LFS object's sha256 in X-Linked-Etag; GD_MODEL_SHA256 pins it.
# GD_MODEL_URL / GD_VOCAB_URL (+ _SHA256) point at a mirror.
MODEL_URL=${GD_MODEL_URL:-https://huggingface.co/Comfy-Org/stable-diffusion-v1-5-archive/resolve/main/v1-5-pruned-emaonly-fp16.safetensors}
MODEL_SHA256=${GD_MODEL_SHA256:-}
MODEL_FILE=${MODEL_URL##*/}
VOCAB_FILE=bpe_simple_vocab_16e6.txt.gz
VOCAB_URL=${GD_VOCAB_URL:-https://raw.githubusercontent.com/openai/CLIP/main/clip/$VOCAB_FILE}
VOCAB_SHA256=${GD_VOCAB_SHA256:-924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a}
# TAESD, the tiny VAE for draft decodes and live previews (madebyollin/taesd, MIT; 2.4 MB
# each), its two taesd.py halves from the Hub repository. Hugging Face serves each LFS
# object's sha256 in X-Linked-Etag and the download is checked against it;
# GD_TAESD_ENCODER_SHA256 / GD_TAESD_DECODER_SHA256 pin them (GD_TAESD_URL: a mirror folder).
TAESD_URL=${GD_TAESD_URL:-https://huggingface.co/madebyollin/taesd/resolve/main}
TAESD_FILES=(taesd_encoder.safetensors taesd_decoder.safetensors)
TAESD_ENCODER_SHA256=${GD_TAESD_ENCODER_SHA256:-}
TAESD_DECODER_SHA256=${GD_TAESD_DECODER_SHA256:-}

usage() {
  cat <<EOF
usage: ./install.sh [options]            build and install for the current user
       ./install.sh --uninstall          remove everything a previous run installed
       ./install.sh --deps-only          install build + test dependencies and stop: apt
                                         packages, GIMP 2.10 and Xvfb, the GIMP 3.0 (trixie)
                                         and 3.2 (sid) chroots of the GIMP tests (cached)

  --model FILE       use a Stable Diffusion 1.x checkpoint you already have (.safetensors)
  --vocab DIR        folder with the CLIP vocabulary: vocab.json + merges.txt, or
                     $VOCAB_FILE (default: the model's folder, then $DATA/clip)
  --download-model   fetch SD 1.5 (fp16, 2.1 GB), the CLIP vocabulary and TAESD (the tiny
                     VAE for draft decodes and previews, 2 x 2.4 MB) into $DATA
                     (checksum-verified, resumable: run it again after an interruption)
  --taesd PATH       a TAESD you already have (taesd_decoder.safetensors + taesd_encoder,
                     diffusers' diffusion_pytorch_model.safetensors, or their folder)
  --threads N        worker threads written to the config (default: $(nproc 2>/dev/null || echo 1))
  --gimp 2|3|flatpak|none
                     which GIMP to install for (default: every GIMP found here: GIMP 2.10,
                     each GIMP 3.x (its own profile, GIMP/3.0, GIMP/3.2, ...) and the Flatpak
                     GIMP (org.gimp.GIMP: a self-contained build)); none: only the diffuse CLI
  --prefix DIR       system-wide install with 'meson install' (uses sudo when needed); the
                     plug-in goes to GIMP's system plug-in folder
  --no-deps          do not run apt (the dependencies are already there)
  --keep-model       with --uninstall: keep the downloaded model and vocabulary
  --print-deps       print every apt package any of the above may install here, and stop
EOF
}

say()  { printf '==> %s\n' "$*"; }
warn() { printf 'install.sh: warning: %s\n' "$*" >&2; }
die()  { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# ---------------------------------------------------------------- arguments
MODE=install GIMP_SEL=auto PREFIX= MODEL= VOCAB= TAESD= DOWNLOAD=0 THREADS= NO_DEPS=0 KEEP_MODEL=0
while [ $# -gt 0 ]; do
  case $1 in
    --deps-only) MODE=deps ;;
    --print-deps) MODE=print-deps ;;
    --uninstall) MODE=uninstall ;;
    --gimp) GIMP_SEL=${2:?--gimp needs 2, 3, flatpak or none}; shift ;;
    --prefix) PREFIX=${2:?--prefix needs a folder}; shift ;;
    --model) MODEL=${2:?--model needs a file}; shift ;;
    --vocab) VOCAB=${2:?--vocab needs a folder}; shift ;;
    --taesd) TAESD=${2:?--taesd needs a file or folder}; shift ;;
    --download-model) DOWNLOAD=1 ;;
    --threads) THREADS=${2:?--threads needs a number}; shift ;;
    --no-deps) NO_DEPS=1 ;;
    --keep-model) KEEP_MODEL=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done
case $GIMP_SEL in auto|2|3|flatpak|none) ;; *) die "--gimp takes 2, 3, flatpak or none" ;; esac
if [ "$(id -u)" = 0 ] && [ -n "${SUDO_USER:-}" ] && { [ "$MODE" = install ] || [ "$MODE" = uninstall ]; }; then
  die "run ./install.sh as yourself, without sudo: it installs into your GIMP profile and
    asks for sudo itself when it needs it (apt, --prefix)"
fi
[ -z "$THREADS" ] || [[ $THREADS =~ ^[0-9]+$ ]] || die "--threads takes a number"

# ---------------------------------------------------------------- which GIMPs
# GIMP 3 reads its plug-ins from a profile per minor version (~/.config/GIMP/3.0, 3.2, ...),
# so the plug-in goes into the profile of every GIMP 3.x found: by the name of its executable
# (gimp-3.2, gimp-console-3.0, ...) or, for gimp-3 / gimp-console-3 / gimp, by --version.
# The Flatpak GIMP (org.gimp.GIMP) gets the self-contained build (plugin/bundle/).
has() { command -v "$1" >/dev/null 2>&1; }
version_of() { "$1" --version 2>/dev/null | grep -o 'version [0-9]*\.[0-9]*' | head -n1 | cut -c9-; }
gimp3_minors() {  # every GIMP 3.x here, one "3.N" a line
  { compgen -c | sed -n 's/^gimp\(-console\)\{0,1\}-\(3\.[0-9][0-9]*\)$/\2/p'
    local exe v
    for exe in gimp-3 gimp-console-3 gimp; do
      has "$exe" || continue
      v=$(version_of "$exe"); case $v in 3.*) echo "$v" ;; esac
    done; } | sort -uV
}
gimp2_here() { has gimp-2.10 || has gimp-console-2.10 || [ "$(has gimp && version_of gimp)" = 2.10 ]; }
FLATPAK_APP=org.gimp.GIMP
FLATPAK_HOME=$HOME/.var/app/$FLATPAK_APP
flatpak_minor() {  # "3.N" of the Flatpak GIMP, empty when there is none
  local v=
  if has flatpak && flatpak info "$FLATPAK_APP" >/dev/null 2>&1; then
    v=$(flatpak info "$FLATPAK_APP" 2>/dev/null | sed -n 's/^ *Version: *\([0-9]*\.[0-9]*\).*/\1/p' | head -n1)
  fi
  if [ -z "$v" ] && [ -d "$FLATPAK_HOME" ]; then  # no flatpak command (or no Version line): its profiles
    v=$(cd "$FLATPAK_HOME/config/GIMP" 2>/dev/null && ls -d 3.* 2>/dev/null | sort -V | tail -n1)
    [ -n "$v" ] || v=3.2
  fi
  case $v in 3.*) echo "$v" ;; esac
}
GIMP3_MINORS=() FLATPAK_MINOR=
FRONTS=()
DIFFUSE=   # the built diffuse, once there is one: checks the model (checkpoint_problem)
case $GIMP_SEL in
  2) FRONTS=(2) ;;
  3) FRONTS=(3); mapfile -t GIMP3_MINORS < <(gimp3_minors) ;;
  flatpak) FRONTS=(flatpak); FLATPAK_MINOR=$(flatpak_minor) ;;
  auto)
    mapfile -t GIMP3_MINORS < <(gimp3_minors)
    [ ${#GIMP3_MINORS[@]} = 0 ] || FRONTS+=(3)
    gimp2_here && FRONTS+=(2)
    FLATPAK_MINOR=$(flatpak_minor)
    [ -z "$FLATPAK_MINOR" ] || FRONTS+=(flatpak)
    true ;;
esac
[ "${FRONTS[*]}" != 3 ] || [ ${#GIMP3_MINORS[@]} -gt 0 ] || GIMP3_MINORS=(3.0)
[ "${FRONTS[*]}" != flatpak ] || [ -n "$FLATPAK_MINOR" ] ||
  die "--gimp flatpak: no Flatpak GIMP here (flatpak info $FLATPAK_APP, or $FLATPAK_HOME)"

profile_dir() {  # profile_dir 2 | 3 MINOR | flatpak MINOR: the per-user profile GIMP itself uses
  local base=${XDG_CONFIG_HOME:-$HOME/.config}/GIMP
  case $1 in
    3) echo "${GIMP3_DIRECTORY:-$base/$2}" ;;
    flatpak) echo "$FLATPAK_HOME/config/GIMP/$2" ;;
    *) echo "${GIMP2_DIRECTORY:-$base/2.10}" ;;
  esac
}

# ---------------------------------------------------------------- dependencies
apt_packages() {
  local p=("${APT_BUILD[@]}")
  [ "${1:-}" != test ] || p+=("${APT_TEST[@]}" "${APT_GIMP_TEST[@]}")
  local f
  for f in "${FRONTS[@]}"; do
    case $f in 3|flatpak) p+=("$APT_GIMP3") ;; 2) p+=("$APT_GIMP2") ;; esac
  done
  [ "${1:-}" != all ] || p+=("${APT_TEST[@]}" "${APT_GIMP_TEST[@]}" curl ca-certificates)
  [ "$DOWNLOAD" = 0 ] || has curl || has wget || p+=(curl ca-certificates)
  echo "${p[@]}"
}

install_deps() {  # $1 = test: also the test dependencies
  local pkgs
  read -r -a pkgs <<<"$(apt_packages "${1:-}")"
  if ! has apt-get || ! has dpkg-query; then
    echo "install.sh: no apt here. Install the equivalents of:" >&2
    echo "  Debian/Ubuntu: ${pkgs[*]}" >&2
    echo "  Fedora (dnf):  $DNF_BUILD" >&2
    echo "  Arch (pacman): $PACMAN_BUILD" >&2
    echo "then run ./install.sh --no-deps" >&2
    exit 1
  fi
  local os
  os=$( . /etc/os-release 2>/dev/null; echo "${ID:-unknown}:${VERSION_ID:-}" )  # a subshell: it sets NAME
  case "${os%%.*}" in
    debian:1[2-9]|ubuntu:2[2-9]|ubuntu:[3-9]?) ;;
    *) warn "tested on Debian 12/13 and Ubuntu 22.04+, this is ${os/:/ }: trying anyway" ;;
  esac
  local missing=() p
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  say "installing with apt: ${missing[*]}"
  as_root apt-get update -q || warn "apt-get update failed; trying with the package lists already here"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

install_test_hosts() {  # --deps-only: what the tests need beyond apt, built once and cached
  # under /var/tmp/gimp-host (root: debootstrap, chroot): the sanitizers' clang runtime, the
  # GIMP 3.0 and 3.2 chroots, cJSON's source for the Flatpak build
  local v
  v=$(clang --version 2>/dev/null | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -n1)
  if [ -n "$v" ] && ! dpkg-query -W -f='${Status}' "libclang-rt-$v-dev" 2>/dev/null | grep -q "install ok installed"; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "libclang-rt-$v-dev"
  fi
  if [ "${GD_TEST_CHROOTS:-1}" = 0 ]; then
    warn "GD_TEST_CHROOTS=0: no GIMP 3 test chroots; the GIMP 3 tests will report SKIP"; return 0
  fi
  say "GIMP 3.0 test chroot (Debian trixie)"
  as_root "$SRC/tests/gimp/make-gimp3-chroot.sh"
  say "GIMP 3.2 test chroot (Debian sid)"
  as_root env GIMP3_SUITE=sid "$SRC/tests/gimp/make-gimp3-chroot.sh"
  say "cJSON source for the Flatpak build"
  as_root "$SRC/plugin/bundle/fetch-cjson.sh" /var/tmp/gimp-host/cache/cjson-src
}

check_meson() {
  has meson || die "meson is not installed (apt-get install meson, or run without --no-deps)"
  local v; v=$(meson --version)
  if [ "$(printf '%s\n%s\n' "$MESON_MIN" "$v" | sort -V | head -n1)" != "$MESON_MIN" ]; then
    die "meson $v is too old (need $MESON_MIN; Ubuntu 22.04 ships 0.61): run
    python3 -m pip install --user 'meson>=$MESON_MIN'   and put ~/.local/bin first in PATH"
  fi
}

# ---------------------------------------------------------------- manifest
# One entry a line: "f PATH" file, "d PATH" folder we created, "m PATH" downloaded model data,
# "c PATH" the config file, "b PATH" a config that was there before (kept as PATH.before-$NAME).
NEW_ENTRIES=()
record() { NEW_ENTRIES+=("$1 $2"); }
save_manifest() {
  mkdir_track "$CONFIG_DIR"
  { [ ! -f "$MANIFEST" ] || cat "$MANIFEST"; printf '%s\n' "${NEW_ENTRIES[@]}"; } |
    awk 'NF && !seen[$0]++' >"$MANIFEST.tmp"
  mv "$MANIFEST.tmp" "$MANIFEST"
}
in_manifest() { [ -f "$MANIFEST" ] && grep -qxF "$1" "$MANIFEST"; }

maybe_root() {  # maybe_root DIR CMD...: CMD as root when DIR is not ours to write
  local d=$1; shift
  if [ -w "$d" ]; then "$@"; else as_root "$@"; fi
}

mkdir_track() {  # mkdir -p that records every folder it creates
  local d=$1 todo=()
  while [ ! -d "$d" ]; do todo=("$d" "${todo[@]}"); d=$(dirname "$d"); done
  for d in "${todo[@]}"; do maybe_root "$(dirname "$d")" mkdir "$d"; record d "$d"; done
}

put_file() {  # put_file SRC DEST MODE
  mkdir_track "$(dirname "$2")"
  maybe_root "$(dirname "$2")" install -m "$3" "$1" "$2"
  record f "$2"
}

# ---------------------------------------------------------------- build + install
build_front() {  # build_front 2|3|none -> the build folder
  local g=$1 b=$SRC/build-release-gimp$g
  local opts=(-Dbuildtype=release -Dgimp="$g" -Dprefix="${PREFIX:-$USER_PREFIX}")
  say "building (GIMP front end: $g) in ${b#"$SRC"/}" >&2
  if [ -f "$b/build.ninja" ]; then
    meson configure "$b" "${opts[@]}" >/dev/null
  else
    meson setup "$b" "$SRC" "${opts[@]}" >/dev/null || die "meson setup failed: see $b/meson-logs/meson-log.txt"
  fi
  meson compile -C "$b" >&2 || die "the build failed (output above)"
  echo "$b"
}

ensure_profile() {  # ensure_profile 2 | 3 MINOR | flatpak MINOR: GIMP makes its profile on its
  # first start and skips that when the folder exists, so a plug-ins/ folder made before would
  # leave GIMP without gradients/, brushes/...
  local g=$1 minor=${2:-} p exe=
  p=$(profile_dir "$g" "$minor")
  [ ! -d "$p" ] || return 0
  say "first start of GIMP ${minor:-2.10}${g/#[23]/} (creates $p)"
  case $g in
    3)
      for exe in "gimp-console-$minor" "gimp-$minor" gimp-console-3 gimp-3; do has "$exe" && break; done
      timeout 300 "$exe" -i -d -f --quit >/dev/null 2>&1 || true ;;
    flatpak)
      exe="flatpak run $FLATPAK_APP"
      ! has flatpak || timeout 300 flatpak run --command=gimp-console "$FLATPAK_APP" -i -d -f --quit \
        >/dev/null 2>&1 || true ;;
    *)
      for exe in gimp-console-2.10 gimp-2.10; do has "$exe" && break; done
      timeout 300 "$exe" -i -d -f -b '(gimp-quit 0)' >/dev/null 2>&1 || true ;;
  esac
  [ -d "$p" ] || warn "$exe did not create $p: start GIMP once, then run ./install.sh again"
}

plugin_profiles() {  # plugin_profiles FRONT: the profile folders this front end is installed into
  local m
  case $1 in
    3) for m in "${GIMP3_MINORS[@]}"; do profile_dir 3 "$m"; done ;;
    flatpak) profile_dir flatpak "$FLATPAK_MINOR" ;;
    2) profile_dir 2 ;;
  esac
}

install_user() {  # install_user BUILD FRONT: meson's install, moved into the user's folders; the
  # plug-in into the profile of every GIMP of that front end (each GIMP 3.x has its own)
  local b=$1 g=$2 stage=$1/stage libdir= profiles=() m
  rm -rf "$stage"
  meson install -C "$b" --no-rebuild --destdir "$stage" >/dev/null
  if [ "$g" != none ]; then
    libdir=$(pkg-config --variable=gimplibdir "gimp-$([ "$g" = 3 ] && echo 3.0 || echo 2.0)")
    case $g in
      3) for m in "${GIMP3_MINORS[@]}"; do ensure_profile 3 "$m"; done ;;
      *) ensure_profile 2 ;;
    esac
    mapfile -t profiles < <(plugin_profiles "$g")
  fi
  local f rel dest p
  while IFS= read -r -d '' f; do
    rel=${f#"$stage"}
    case $rel in
      "$USER_PREFIX"/*) put_file "$f" "$rel" "$([ -x "$f" ] && echo 755 || echo 644)" ;;
      "$libdir"/plug-ins/*)
        [ -n "$libdir" ] || continue
        for p in "${profiles[@]}"; do
          put_file "$f" "$p/plug-ins/${rel#"$libdir"/plug-ins/}" "$([ -x "$f" ] && echo 755 || echo 644)"
        done ;;
      *) warn "not installed (outside the user's folders): $rel" ;;
    esac
  done < <(find "$stage" -type f -print0 | sort -z)
  for p in "${profiles[@]}"; do
    say "GIMP $([ "$g" = 2 ] && echo 2.10 || basename "$p") plug-in: $p/plug-ins"
  done
}

install_flatpak() {  # the self-contained build into the Flatpak GIMP's profile (its sandbox sees
  # GIMP's and the GNOME runtime's libraries only; see plugin/bundle/build-bundle.sh)
  has pkg-config && pkg-config --exists gimp-3.0 ||
    die "the Flatpak plug-in is built against GIMP 3's headers: install libgimp-3.0-dev
    (Debian 13 / Ubuntu 25.04 and later), or build plugin/bundle/build-bundle.sh on such a system
    and copy its gimp-diffusion/ folder into $(profile_dir flatpak "$FLATPAK_MINOR")/plug-ins/"
  local out=$SRC/build-release-flatpak-out f p
  say "building the self-contained plug-in for the Flatpak GIMP $FLATPAK_MINOR" >&2
  # cJSON's source goes to ~/.cache/gimp-diffusion (meson takes no dependency inside the tree)
  "$SRC/plugin/bundle/build-bundle.sh" "$out" "$SRC/build-release-flatpak" >/dev/null ||
    die "the Flatpak build failed (output above)"
  ensure_profile flatpak "$FLATPAK_MINOR"
  p=$(profile_dir flatpak "$FLATPAK_MINOR")
  while IFS= read -r -d '' f; do
    put_file "$f" "$p/plug-ins/${f#"$out"/}" "$([ -x "$f" ] && echo 755 || echo 644)"
  done < <(find "$out/gimp-diffusion" -type f -print0 | sort -z)
  say "Flatpak GIMP $FLATPAK_MINOR plug-in: $p/plug-ins/gimp-diffusion"
}

install_system() {  # install_system BUILD: meson's install into --prefix, copied with sudo when
  # needed (staged as the user, so root never writes into the build folder)
  local b=$1 stage=$1/stage f rel
  rm -rf "$stage"
  meson install -C "$b" --no-rebuild --destdir "$stage" >/dev/null
  while IFS= read -r -d '' f; do
    rel=${f#"$stage"}
    put_file "$f" "$rel" "$([ -x "$f" ] && echo 755 || echo 644)"
  done < <(find "$stage" -type f -print0 | sort -z)
}

install_data_files() {  # presets and icons, when the build did not install them already
  local prefix=${PREFIX:-$USER_PREFIX} sub f dest
  for sub in presets icons; do
    dest=$prefix/share/$NAME/$sub
    grep -qF "f $dest/" <<<"$(printf '%s\n' "${NEW_ENTRIES[@]}")" && continue
    for f in "$SRC/$sub"/*.json "$SRC/$sub"/*.png "$SRC/$sub"/*.svg; do
      [ -f "$f" ] || continue
      put_file "$f" "$dest/${f##*/}" 644
    done
  done
}

# ---------------------------------------------------------------- model + vocabulary
checkpoint_problem() {  # prints why FILE is not a checkpoint the engine runs; silent if it is
  # The file-level checks need nothing built; what the file holds (family, keys, shapes) is
  # for `diffuse check`, once the build has made it ($DIFFUSE): the engine's own detection,
  # not a second key list here.
  local f=$1 n size out
  [ -e "$f" ] || { echo "$f does not exist"; return; }
  [ -d "$f" ] && { echo "$f is a folder; give the single .safetensors file (diffusers folders are not supported)"; return; }
  [ -r "$f" ] || { echo "$f is not readable"; return; }
  case $f in *.ckpt|*.pt|*.bin) echo "$f is a pickle checkpoint; convert it to .safetensors"; return ;; esac
  size=$(stat -c %s "$f")
  n=$(od -An -tu8 -N8 "$f" | tr -d ' ')
  if [ -z "$n" ] || [ "$n" -lt 2 ] || [ "$n" -gt 100000000 ] || [ $((n + 8)) -gt "$size" ]; then
    echo "$f is not a safetensors file (or it is truncated: an interrupted download?)"; return
  fi
  [ -n "$DIFFUSE" ] || return 0
  if ! out=$("$DIFFUSE" check "$f" 2>&1 >/dev/null); then
    out=${out#diffuse: }
    echo "${out:-$f: diffuse check failed}"
  fi
}

vocab_ok() { [ -f "$1/vocab.json" ] && [ -f "$1/merges.txt" ] || [ -f "$1/$VOCAB_FILE" ]; }

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

fetch() {  # fetch URL DEST SHA256: resumable download, verified before it takes DEST's name
  local url=$1 dest=$2 sha=$3
  mkdir_track "$(dirname "$dest")"
  record m "$dest"; save_manifest        # so --uninstall also finds a download cut short
  if [ -f "$dest" ] && { [ -z "$sha" ] || [ "$(sha256_of "$dest")" = "$sha" ]; }; then
    say "already here: $dest"; return 0
  fi
  say "downloading $url"
  local rc=0
  if has curl; then
    curl -fL --retry 3 -C - --progress-bar -o "$dest.part" "$url" || rc=$?
    if [ "$rc" = 33 ]; then   # the server cannot resume: start again
      rm -f "$dest.part"; rc=0
      curl -fL --retry 3 --progress-bar -o "$dest.part" "$url" || rc=$?
    fi
  else
    wget -c -q --show-progress -O "$dest.part" "$url" || rc=$?
  fi
  [ "$rc" = 0 ] || die "downloading $url failed (exit status $rc); run the same command again to resume"
  if [ -n "$sha" ] && [ "$(sha256_of "$dest.part")" != "$sha" ]; then
    rm -f "$dest.part"
    die "checksum mismatch for $dest (expected $sha): the file was removed, run again"
  fi
  mv "$dest.part" "$dest"
}

remote_sha256() {  # the LFS object's sha256 that Hugging Face reports for URL
  curl -fsIL --max-time 20 "$1" 2>/dev/null | tr -d '\r' |
    awk -F': ' 'tolower($1)=="x-linked-etag"{gsub(/"/,"",$2); print $2}' | tail -n1
}

offline_help() {
  cat >&2 <<EOF

install.sh: cannot download the model from here (no network, or the server is unreachable).
On a machine with network, download these two files:
  $MODEL_URL
      (2.1 GB; Hugging Face shows its sha256 on the file page)
  $VOCAB_URL
      (sha256 $VOCAB_SHA256)
put them here:
  $DATA/models/$MODEL_FILE
  $DATA/clip/$VOCAB_FILE
and run ./install.sh --download-model again (it verifies what is there and goes on), or point
the installer at files you already have:
  ./install.sh --model /path/to/model.safetensors --vocab /path/to/clip-folder
(the vocab folder holds $VOCAB_FILE, or vocab.json + merges.txt from
 https://huggingface.co/openai/clip-vit-large-patch14)
Optional, for draft decodes and live previews: TAESD (madebyollin/taesd, 2 x 2.4 MB)
  $TAESD_URL/${TAESD_FILES[0]}
  $TAESD_URL/${TAESD_FILES[1]}
      (Hugging Face shows each file's sha256 on its page)
into $DATA/taesd/ (or pass --taesd /path/to/them).
EOF
}

net_ok() {  # both download hosts answer (bash's /dev/tcp: works before curl is installed)
  local u h port
  for u in "$MODEL_URL" "$VOCAB_URL"; do
    h=${u#*://}; h=${h%%/*}; port=443
    [ "${u%%://*}" != http ] || port=80
    case $h in *:*) port=${h##*:}; h=${h%:*} ;; esac
    timeout 15 bash -c "exec 3<>/dev/tcp/$h/$port" 2>/dev/null || return 1
  done
}

downloaded_files_ok() {
  [ -f "$DATA/models/$MODEL_FILE" ] && [ -z "$(checkpoint_problem "$DATA/models/$MODEL_FILE")" ] &&
    vocab_ok "$DATA/clip"
}

check_download_possible() {  # before anything is changed: offline, say what to fetch by hand
  [ "$DOWNLOAD" = 1 ] || return 0
  net_ok && return 0
  downloaded_files_ok && return 0
  offline_help
  echo "install.sh: nothing was changed." >&2
  exit 3
}

download_model() {
  local model=$DATA/models/$MODEL_FILE vocab=$DATA/clip
  has curl || has wget || die "--download-model needs curl or wget"
  if ! net_ok; then
    warn "offline: using the files already in $DATA without checking their sha256"
    MODEL=$model VOCAB=$vocab; return 0
  fi
  local sha=$MODEL_SHA256
  [ -n "$sha" ] || ! has curl || sha=$(remote_sha256 "$MODEL_URL")
  [ -n "$sha" ] || warn "no sha256 published for $MODEL_FILE; checking its header only"
  fetch "$VOCAB_URL" "$vocab/${VOCAB_URL##*/}" "$VOCAB_SHA256"
  fetch "$MODEL_URL" "$model" "$sha"
  MODEL=$model VOCAB=$vocab
  download_taesd
}

taesd_ok() {  # a folder holding TAESD's decoder (the encoder is optional: txt2img drafts, previews)
  [ -f "$1/taesd_decoder.safetensors" ] || [ -f "$1/diffusion_pytorch_model.safetensors" ] ||
    { [ -f "$1" ] && case $1 in *.safetensors) true ;; *) false ;; esac; }
}

download_taesd() {  # TAESD is optional: a failure here is a warning, not the end of the install
  local dir=$DATA/taesd f sha
  for f in "${TAESD_FILES[@]}"; do
    case $f in *encoder*) sha=$TAESD_ENCODER_SHA256 ;; *) sha=$TAESD_DECODER_SHA256 ;; esac
    [ -n "$sha" ] || ! has curl || sha=$(remote_sha256 "$TAESD_URL/$f")
    [ -n "$sha" ] || warn "no sha256 published for $f; the engine checks its structure when it loads"
    # fetch dies on failure: run it in a subshell so that TAESD stays optional
    ( fetch "$TAESD_URL/$f" "$dir/$f" "$sha" ) ||
      { warn "TAESD was not downloaded: drafts and previews use the full VAE / the cheap preview"; return 0; }
    record m "$dir/$f"
  done
  TAESD=$dir
}

config_value() {  # config_value KEY: a string value from the existing config (our own format)
  [ -f "$CONFIG" ] && sed -n "s/^ *\"$1\": *\"\\(.*\\)\",\\{0,1\\}\$/\\1/p" "$CONFIG" | head -n1 | sed 's/\\"/"/g; s/\\\\/\\/g'
}
json_str() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }

setup_model() {
  [ "$DOWNLOAD" = 0 ] || download_model
  if [ -n "$MODEL" ]; then
    MODEL=$(realpath -ms "$MODEL")
    local why; why=$(checkpoint_problem "$MODEL")
    [ -z "$why" ] || die "$why"
  else
    MODEL=$(config_value model || true)
  fi
  if [ -n "$VOCAB" ]; then
    VOCAB=$(realpath -ms "$VOCAB")
    vocab_ok "$VOCAB" || die "$VOCAB has neither vocab.json + merges.txt nor $VOCAB_FILE"
  else
    local d
    for d in "${MODEL:+$(dirname "$MODEL")}" "$DATA/clip" "$(config_value vocab || true)"; do
      if [ -n "$d" ] && vocab_ok "$d"; then VOCAB=$d; break; fi
    done
  fi
  if [ -n "$TAESD" ]; then
    TAESD=$(realpath -ms "$TAESD")
    taesd_ok "$TAESD" || die "$TAESD holds no TAESD (taesd_decoder.safetensors, or diffusers'
    diffusion_pytorch_model.safetensors from madebyollin/taesd)"
  else
    local t
    for t in "$(config_value taesd || true)" "$DATA/taesd"; do
      if [ -n "$t" ] && taesd_ok "$t"; then TAESD=$t; break; fi
    done
  fi
  [ -n "$THREADS" ] || THREADS=$(nproc 2>/dev/null || echo 1)

  if [ -f "$CONFIG" ] && ! in_manifest "c $CONFIG"; then
    cp -p "$CONFIG" "$CONFIG.before-$NAME"; record b "$CONFIG"
  fi
  mkdir_track "$CONFIG_DIR"
  mkdir_track "$DATA/loras"   # LoRA files: --lora NAME and <lora:NAME:weight> look here
  local taesd_line=
  [ -z "$TAESD" ] || taesd_line=$(printf '  "taesd": %s,\n ' "$(json_str "$TAESD")")
  printf '{\n  "model": %s,\n  "vocab": %s,\n%s  "threads": %s,\n  "lora_dir": %s\n}\n' \
    "$(json_str "$MODEL")" "$(json_str "$VOCAB")" "${taesd_line% }" "$THREADS" \
    "$(json_str "$DATA/loras")" >"$CONFIG.tmp"
  mv "$CONFIG.tmp" "$CONFIG"
  record c "$CONFIG"
  say "config: $CONFIG"
  if [[ " ${FRONTS[*]} " == *" flatpak "* ]]; then flatpak_config; fi
  if [ -z "$MODEL" ]; then
    warn "no model configured: run ./install.sh --download-model, or --model FILE"
  fi
  if [ -z "$VOCAB" ]; then
    warn "no CLIP vocabulary found: pass --vocab DIR (see ./install.sh --help)"
  fi
}

flatpak_config() {  # the same config where the sandbox looks (its XDG_CONFIG_HOME), and a word on
  # paths: the Flatpak GIMP sees the host's files, except the system folders it replaces
  local cfg=$FLATPAK_HOME/config/$NAME/config.json p
  if [ -f "$cfg" ] && ! in_manifest "c $cfg"; then cp -p "$cfg" "$cfg.before-$NAME"; record b "$cfg"; fi
  mkdir_track "$(dirname "$cfg")"
  cp "$CONFIG" "$cfg.tmp" && mv "$cfg.tmp" "$cfg"
  record c "$cfg"
  say "config for the Flatpak GIMP: $cfg"
  for p in "$MODEL" "$VOCAB"; do
    case $p in
      /usr/*|/lib*|/bin/*|/sbin/*|/etc/*|/app/*|/proc/*|/dev/*|/sys/*|/run/*)
        warn "the Flatpak GIMP cannot read $p (its sandbox has its own $(cut -d/ -f2 <<<"$p" | sed 's|^|/|')): keep models and the vocabulary under your home folder" ;;
    esac
  done
}

# ---------------------------------------------------------------- uninstall
uninstall() {
  [ -f "$MANIFEST" ] || { say "nothing to uninstall (no $MANIFEST)"; return 0; }
  local kind path
  while IFS= read -r line; do
    kind=${line%% *} path=${line#* }
    case $kind in
      f|c) [ ! -e "$path" ] || maybe_root "$(dirname "$path")" rm -f "$path" ;;
      m) if [ "$KEEP_MODEL" = 1 ]; then say "kept $path"; else rm -f "$path" "$path.part"; fi ;;
    esac
  done <"$MANIFEST"
  while IFS= read -r path; do
    [ ! -f "$path.before-$NAME" ] || mv "$path.before-$NAME" "$path"
  done < <(sed -n 's/^b //p' "$MANIFEST")
  local dirs; dirs=$(sed -n 's/^d //p' "$MANIFEST" | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2-)
  rm -f "$MANIFEST"
  # our own data folders too, when empty (a run cut short may not have listed them)
  dirs+=$'\n'$DATA/models$'\n'$DATA/clip$'\n'$DATA/taesd$'\n'$DATA/presets$'\n'$DATA/icons$'\n'$DATA/loras$'\n'$DATA$'\n'$CONFIG_DIR
  while IFS= read -r path; do
    [ -d "$path" ] && [ -z "$(ls -A "$path")" ] || continue
    maybe_root "$(dirname "$path")" rmdir "$path" || true
  done <<<"$dirs"
  say "uninstalled (the build folders build-release-* in $SRC are left; delete them by hand)"
}

# ---------------------------------------------------------------- main
case $MODE in
  print-deps) apt_packages all; exit 0 ;;
  deps) install_deps test; install_test_hosts; exit 0 ;;
  uninstall) uninstall; exit 0 ;;
esac

if [ ${#FRONTS[@]} = 0 ]; then
  if [ "$GIMP_SEL" = none ]; then FRONTS=(none)
  else die "no GIMP found (gimp-3.x or gimp-2.10 in PATH, or the Flatpak $FLATPAK_APP): install
    GIMP (apt-get install gimp, or flatpak install flathub $FLATPAK_APP), or use --gimp none to
    install only the diffuse CLI. The Snap GIMP cannot load it."
  fi
fi
check_download_possible
[ "$NO_DEPS" = 1 ] || install_deps
check_meson
[ -n "$PREFIX" ] && PREFIX=$(realpath -m "$PREFIX")
for g in "${FRONTS[@]}"; do
  if [ "$g" = flatpak ]; then
    if [ -n "$PREFIX" ]; then warn "--prefix: the Flatpak GIMP reads plug-ins from its own profile only; skipped"
    else install_flatpak; fi
    continue
  fi
  b=$(build_front "$g")
  [ -n "$DIFFUSE" ] || DIFFUSE=$b/engine/tools/diffuse
  if [ -n "$PREFIX" ]; then install_system "$b"; else install_user "$b" "$g"; fi
done
install_data_files
save_manifest              # what is in place so far survives a failed model step
setup_model
save_manifest
say "done. Restart GIMP, open an image: Filters > Generate > Stable Diffusion"
say "uninstall with: $0 --uninstall"
