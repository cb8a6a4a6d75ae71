#!/bin/bash
# The install test proper, run inside a fresh chroot by tests/install/run.sh, as the desktop
# user (bookworm: "tester", trixie: root), from a copy of the repository at ~/gimp-diffusion
# with the shared fixtures at ~/shared.
# usage: fresh-user.sh 2|3 OUTDIR [--no-tests]
#   2: GIMP 2.10 (Debian 12), 3: GIMP 3 (Debian 13). Logs and listings go to OUTDIR.
# What it checks, in order:
#   A. a user who never started GIMP: ./install.sh --model M --vocab V installs the apt
#      dependencies itself, builds, installs; GIMP lists the procedures in the PDB and has the
#      menu path; a second run changes nothing; --uninstall leaves no file of ours and GIMP
#      no longer knows the procedures.
#   B. a user with a GIMP profile: install + uninstall leaves the home's file list as before.
#   C. --download-model without network: exit status 3 and the what-to-download text.
#   E. --prefix /usr/local (system-wide, sudo): GIMP finds it; --uninstall removes every file.
#   D. the README's test command (./install.sh --deps-only, then tests/run.sh) passes.
set -euo pipefail
GV=${1:?GIMP major version 2 or 3} OUT=${2:?output folder} RUN_TESTS=1
# GIMP 3: the minor version this chroot has (3.0 in trixie, 3.2 in sid): its console and the
# profile it reads (~/.config/GIMP/3.N) follow from it
G3=$(compgen -c | sed -n 's/^gimp-console-\(3\.[0-9][0-9]*\)$/\1/p' | sort -V | tail -n1)
[ "$GV" != 3 ] || [ -n "$G3" ] || { echo "FAIL: no gimp-console-3.N here"; exit 1; }
PROFILE_NAME=$([ "$GV" = 3 ] && echo "$G3" || echo 2.10)
[ "${3:-}" != --no-tests ] || RUN_TESTS=0
REPO=$HOME/gimp-diffusion SHARED=$HOME/shared
MODEL=$SHARED/golden/tiny-sd1.safetensors VOCAB=$SHARED/clip
PROCS=(plug-in-diffusion-img2img plug-in-diffusion-inpaint plug-in-diffusion-txt2img)
MENU='<Image>/Filters/Generate'
MANIFEST=$HOME/.config/gimp-diffusion/installed-files
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
cd "$REPO"

T0=$(date +%s)
fail() { echo "FAIL: $*"; exit 1; }
step() { printf '\n=== %s  (%d s)\n' "$*" "$(( $(date +%s) - T0 ))"; }
listing() {  # the user's files, minus the repository copy, the fixtures and caches
  (cd "$HOME" && find . \( -path ./gimp-diffusion -o -path ./shared -o -path ./.cache \) -prune \
     -o -print | sort)
}
run_logged() {  # run_logged LOG CMD...: quiet unless it fails
  local log=$OUT/$1; shift
  if ! "$@" >"$log" 2>&1; then tail -n 40 "$log"; fail "$* (log: $log)"; fi
}

# gimp_pdb FILE: one line per procedure, "NAME 0|1 MENU-PATHS", then "OK" (written by GIMP)
gimp_pdb() {
  local f=$1; rm -f "$f"
  if [ "$GV" = 2 ]; then
    local names; names=$(printf '"%s" ' "${PROCS[@]}")
    timeout 300 gimp-console-2.10 -i -d -f -b "
      (let ((p (open-output-file \"$f\")))
        (for-each (lambda (n)
                    (display n p) (display \" \" p)
                    (display (car (gimp-procedural-db-proc-exists n)) p) (newline p))
                  (list $names))
        (display \"OK\" p) (newline p) (close-output-port p))" \
      -b '(gimp-quit 0)' >"$f.log" 2>&1 || true
  else
    GD_PDB_OUT=$f GD_PROCS="${PROCS[*]}" timeout 300 "gimp-console-$G3" -i -d -f \
      --batch-interpreter=python-fu-eval -b "exec(open('$HERE/pdb_gimp3.py').read())" --quit \
      >"$f.log" 2>&1 || true
  fi
  [ "$(tail -n1 "$f" 2>/dev/null)" = OK ] || { cat "$f.log"; fail "the GIMP $GV batch did not finish"; }
}

# GIMP 2.10 keeps the menu paths in pluginrc; GIMP 3's PDB reports them (pdb_gimp3.py)
menu_paths() {  # menu_paths PROC FILE
  if [ "$GV" = 2 ]; then
    awk -v p="\"$1\"" '$1 == "(proc-def" && $2 == p { on = 1; next }
                       on && /\(proc-def|\(plug-in-def/ { on = 0 }
                       on && /\(menu-path/ { sub(/.*\(menu-path "/, ""); sub(/"\).*/, ""); print }' \
      "$HOME/.config/GIMP/2.10/pluginrc"
  else
    awk -v p="$1" '$1 == p { $1 = ""; $2 = ""; sub(/^ +/, ""); print }' "$2"
  fi
}

icon_of() {  # icon_of PROC FILE: the icon GIMP registered (informative: the file, or a name)
  if [ "$GV" = 2 ]; then
    awk -v p="\"$1\"" '$1 == "(proc-def" && $2 == p { on = 1; next }
                       on && /\(proc-def|\(plug-in-def/ { on = 0 }
                       on && /\(icon / { sub(/.*\(icon /, ""); sub(/\)$/, ""); print }' \
      "$HOME/.config/GIMP/2.10/pluginrc"
  else
    awk -v p="$1" '$1 == "icon" && $2 == p { print $3 }' "$2"
  fi
}

expect_registered() {  # expect_registered 1|0 TAG
  local want=$1 tag=$2 f=$OUT/pdb-$2.txt n got
  gimp_pdb "$f"
  for n in "${PROCS[@]}"; do
    got=$(awk -v p="$n" '$1 == p { print $2 }' "$f")
    if [ "$want" = 1 ]; then
      [ "$got" = 1 ] || fail "$n is not in GIMP $GV's PDB ($tag)"
      local m; m=$(menu_paths "$n" "$f")
      case $m in "$MENU"*) ;; *) fail "$n has no menu path under $MENU (got '$m')" ;; esac
      echo "  $n: in the PDB, menu $m, icon $(icon_of "$n" "$f")"
    else
      [ "$got" = 0 ] || fail "$n is still in GIMP $GV's PDB after --uninstall"
      echo "  $n: not in the PDB"
    fi
  done
}

ours_left() {  # files of ours still in the home (any path naming the project or the CLI)
  listing | grep -E 'gimp-diffusion|/\.local/bin/diffuse$' || true
}

# ---------------------------------------------------------------- A: a user who never ran GIMP
step "A1. fresh user (no GIMP profile yet): ./install.sh --model ... --vocab ..."
listing >"$OUT/home-A0.txt"
[ ! -e "$HOME/.config/GIMP" ] || fail "the user already has a GIMP profile: not a fresh user"
t=$(date +%s)
run_logged install-A1.log ./install.sh --model "$MODEL" --vocab "$VOCAB"
cp "$MANIFEST" "$OUT/manifest-A1.txt"; listing >"$OUT/home-A1.txt"
echo "  install.sh: $(( $(date +%s) - t )) s (apt, release build, GIMP first start, install)"
grep -E '^==> (installing with apt|GIMP|first start|config)' "$OUT/install-A1.log" | sed 's/^/  /'
dpkg-query -W -f='${Status}' libopenblas-dev 2>/dev/null | grep -q 'install ok installed' ||
  fail "install.sh did not install the apt dependencies"
CFG=$HOME/.config/gimp-diffusion/config.json
grep -q "\"model\": \"$MODEL\"" "$CFG" && grep -q "\"vocab\": \"$VOCAB\"" "$CFG" ||
  { cat "$CFG"; fail "config.json does not name the model and the vocabulary"; }
if [ "$GV" = 3 ]; then PLUGIN=$HOME/.config/GIMP/$G3/plug-ins/gimp-diffusion/gimp-diffusion
else PLUGIN=$HOME/.config/GIMP/2.10/plug-ins/gimp-diffusion; fi
[ -x "$PLUGIN" ] || fail "no plug-in at $PLUGIN"
for f in presets/photo.json icons/gimp-diffusion-16.png icons/gimp-diffusion.svg; do
  [ -f "$HOME/.local/share/gimp-diffusion/$f" ] || fail "~/.local/share/gimp-diffusion/$f not installed"
done
[ -d "$HOME/.config/GIMP/$PROFILE_NAME/gradients" ] ||
  fail "the GIMP profile is incomplete (GIMP's own first start did not run)"
"$HOME/.local/bin/diffuse" --help >/dev/null || fail "~/.local/bin/diffuse --help"
"$HOME/.local/bin/diffuse" presets list >"$OUT/presets-list.txt" || fail "diffuse presets list"
echo "  files: plug-in, diffuse, $(ls "$HOME/.local/share/gimp-diffusion/presets" | wc -l) presets, $(ls "$HOME/.local/share/gimp-diffusion/icons" | wc -l) icons, config.json"

step "A2. GIMP $GV: procedures in the PDB and the menu"
expect_registered 1 A2

step "A3. run it again (idempotent)"
run_logged install-A3.log ./install.sh --model "$MODEL" --vocab "$VOCAB"
cmp -s "$MANIFEST" "$OUT/manifest-A1.txt" || { diff "$OUT/manifest-A1.txt" "$MANIFEST"; fail "the manifest changed"; }
listing | diff "$OUT/home-A1.txt" - || fail "the second run changed the home's file list"
expect_registered 1 A3
echo "  same manifest ($(wc -l <"$MANIFEST") entries), same files"

step "A4. --uninstall"
run_logged uninstall-A4.log ./install.sh --uninstall
left=$(ours_left); [ -z "$left" ] || { echo "$left"; fail "--uninstall left files of ours"; }
expect_registered 0 A4
echo "  nothing of ours left; the home keeps only GIMP's own profile"

# ---------------------------------------------------------------- B: a user with a profile
step "B. user with a GIMP profile: install + uninstall leaves the file list as before"
listing >"$OUT/home-B0.txt"
run_logged install-B.log ./install.sh --model "$MODEL" --vocab "$VOCAB"
expect_registered 1 B1
run_logged uninstall-B.log ./install.sh --uninstall
expect_registered 0 B2       # also lets GIMP drop the plug-in from pluginrc
listing >"$OUT/home-B1.txt"
diff "$OUT/home-B0.txt" "$OUT/home-B1.txt" || fail "the home's file list differs after install + uninstall"
! grep -q gimp-diffusion "$HOME/.config/GIMP/"*/pluginrc || fail "pluginrc still names the plug-in"
echo "  $(wc -l <"$OUT/home-B0.txt") paths before and after, identical; pluginrc clean"

# ---------------------------------------------------------------- C: offline model download
step "C. --download-model without network"
NONET=()   # root (the trixie chroot has network for apt): cut it for this step only
[ "$(id -u)" != 0 ] || NONET=(unshare --net --)
rc=0; "${NONET[@]}" ./install.sh --download-model >"$OUT/install-C.log" 2>&1 || rc=$?
[ "$rc" = 3 ] || { tail -n 30 "$OUT/install-C.log"; fail "expected exit status 3 offline, got $rc"; }
for s in v1-5-pruned-emaonly-fp16.safetensors bpe_simple_vocab_16e6.txt.gz \
         ".local/share/gimp-diffusion/models" "--model /path/to/model.safetensors"; do
  grep -qF -- "$s" "$OUT/install-C.log" || { cat "$OUT/install-C.log"; fail "the offline help does not mention $s"; }
done
sed -n '/cannot download/,$p' "$OUT/install-C.log" | sed 's/^/  | /'
run_logged uninstall-C.log ./install.sh --uninstall
left=$(ours_left); [ -z "$left" ] || { echo "$left"; fail "--uninstall left files of ours (C)"; }

# ---------------------------------------------------------------- E: system-wide
step "E. system-wide: ./install.sh --prefix /usr/local (sudo), then --uninstall"
listing >"$OUT/home-E0.txt"
run_logged install-E.log ./install.sh --prefix /usr/local --model "$MODEL" --vocab "$VOCAB"
PLUGDIR=$(pkg-config --variable=gimplibdir "gimp-$([ "$GV" = 3 ] && echo 3.0 || echo 2.0)")/plug-ins
SYSFILES=$(grep '^f ' "$MANIFEST" | grep -v "^f $HOME/" | cut -c3-)
echo "$SYSFILES" | grep -qx "$PLUGDIR/gimp-diffusion\(/gimp-diffusion\)\{0,1\}" ||
  { echo "$SYSFILES"; fail "the plug-in is not in GIMP's system folder $PLUGDIR"; }
echo "$SYSFILES" | grep -qx /usr/local/share/gimp-diffusion/presets/photo.json || fail "no system presets"
/usr/local/bin/diffuse presets list >/dev/null || fail "/usr/local/bin/diffuse presets list"
echo "  $(echo "$SYSFILES" | wc -l) system files, e.g. $(echo "$SYSFILES" | grep -m1 "$PLUGDIR")"
expect_registered 1 E1
run_logged uninstall-E.log ./install.sh --uninstall
for f in $SYSFILES; do [ ! -e "$f" ] || fail "--uninstall left $f"; done
[ ! -e /usr/local/share/gimp-diffusion ] || fail "--uninstall left /usr/local/share/gimp-diffusion"
expect_registered 0 E2
listing >"$OUT/home-E1.txt"
diff "$OUT/home-E0.txt" "$OUT/home-E1.txt" || fail "the home's file list differs after the system-wide round trip"
echo "  every system file removed; home as before"

# ---------------------------------------------------------------- F: the Flatpak GIMP
# No Flatpak runs in a chroot: the sandbox is simulated as GIMP sees it from inside, its
# profile and config under ~/.var/app/org.gimp.GIMP/config (XDG_CONFIG_HOME there), started
# once so its profile exists; install.sh --gimp flatpak must put the self-contained build there.
if [ "$GV" = 3 ]; then
  step "F. Flatpak GIMP (simulated sandbox paths): ./install.sh --gimp flatpak, then --uninstall"
  FP=$HOME/.var/app/org.gimp.GIMP/config
  GIMP3_DIRECTORY=$FP/GIMP/$G3 timeout 300 "gimp-console-$G3" -i -d -f --quit >"$OUT/flatpak-first-start.log" 2>&1 || true
  [ -d "$FP/GIMP/$G3" ] || fail "could not make the simulated Flatpak profile $FP/GIMP/$G3"
  listing >"$OUT/home-F0.txt"
  run_logged install-F.log ./install.sh --gimp flatpak --model "$MODEL" --vocab "$VOCAB"
  FPLUG=$FP/GIMP/$G3/plug-ins/gimp-diffusion
  [ -x "$FPLUG/gimp-diffusion" ] && [ -f "$FPLUG/presets/photo.json" ] ||
    { ls -R "$FP/GIMP/$G3/plug-ins"; fail "no self-contained plug-in with its presets in $FPLUG"; }
  grep -q "\"model\": \"$MODEL\"" "$FP/gimp-diffusion/config.json" ||
    fail "no config in the sandbox's config folder $FP/gimp-diffusion"
  for lib in libopenblas libcjson libutf8proc; do
    ! objdump -p "$FPLUG/gimp-diffusion" | grep -q "NEEDED *$lib" || fail "the Flatpak build links $lib dynamically"
  done
  # GIMP as the sandbox starts it: its profile and config dirs under ~/.var/app
  ( export GIMP3_DIRECTORY=$FP/GIMP/$G3 XDG_CONFIG_HOME=$FP; expect_registered 1 F1 ) || exit 1
  run_logged uninstall-F.log ./install.sh --uninstall
  [ ! -e "$FPLUG" ] && [ ! -e "$FP/gimp-diffusion/config.json" ] || fail "--uninstall left the Flatpak plug-in or config"
  ( export GIMP3_DIRECTORY=$FP/GIMP/$G3 XDG_CONFIG_HOME=$FP; expect_registered 0 F2 ) || exit 1
  listing | diff "$OUT/home-F0.txt" - || fail "the home's file list differs after the Flatpak round trip"
  echo "  self-contained plug-in in $FPLUG, config in the sandbox's config folder; removed again"
fi

# ---------------------------------------------------------------- D: the README's test command
if [ "$RUN_TESTS" = 1 ]; then
  step "D. the README's test command: ./install.sh --deps-only && tests/run.sh"
  # the GIMP test chroots come from the host's cache or the mirror; this chroot runs offline
  GD_TEST_CHROOTS=0 run_logged deps-D.log ./install.sh --deps-only
  t=$(date +%s)
  rc=0; tests/run.sh >"$OUT/tests-run.log" 2>&1 || rc=$?
  grep -E '^ *[0-9]+/[0-9]+ |^(Ok|Expected Fail|Fail|Unexpected Pass|Skipped|Timeout):' \
    "$OUT/tests-run.log" | sed 's/^/  /'
  echo "  tests/run.sh: exit $rc, $(( $(date +%s) - t )) s"
  [ "$rc" = 0 ] || { tail -n 60 "$OUT/tests-run.log"; fail "tests/run.sh failed"; }
fi

step "PASS (GIMP $GV)"
