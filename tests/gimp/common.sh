# Sourced by every GIMP test driver (gimp2-*.sh, gimp3-*.sh): the arguments, the checks that
# turn a missing host into SKIP (exit 77), a fresh GIMP profile with the plug-in installed,
# headless batches, and GUI runs under Xvfb. A new scenario is a driver of a few lines on
# top of these (tests/README.md, "A GIMP scenario").
#
#   source "$(dirname "$0")/common.sh"
#   gd_start 3 e2e "pil model" "$@"   # args PLUGIN MODEL VOCAB [WORKDIR]; SKIP without GIMP 3,
#                                     # the plug-in, PIL; FAIL without the model; WORK made
#   gd_profile 3 presets              # a fresh GIMP 3 profile, plug-in and test presets in it
#   (gd3_batch "$WORK/gimp.log" e2e_gimp3.py)  # one headless python-fu batch
#
# GIMP 3's executables: GIMP3_CONSOLE and GIMP3_GUI when set, else the newest
# gimp-console-3.N / gimp-3.N on PATH, else gimp-console-3 / gimp-3 (Debian's links). A
# GIMP 3.2 host thus needs no change to the drivers. GIMP 2.10's are fixed names.
# Everything a run writes (profile, $TMPDIR, config, logs, screenshots) is under WORK.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
skip() { echo "SKIP: $*"; exit 77; }
# the system's Python (where python3-pil is), not a virtual environment's
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
fail() { echo "FAIL: $*"; exit 1; }

# Console noise of each GIMP that says nothing about the test (RECIPES.md).
GD_NOISE2='Gtk-WARNING|^$|dbus-daemon'
GD_NOISE3='CRITICAL|Glycin running without sandbox|^INFO: argument|^$|resource name is invalid|cannot open display|unexpected EOF|Welcome to GIMP|stale context|list of contexts|Broken pipe|dbus-daemon|set device'

# gd_newest REGEX: the command on PATH whose whole name matches REGEX, highest version first.
gd_newest() {
  compgen -c | grep -x "$1" | sort -u -V | tail -1
}

GIMP3_CONSOLE=${GIMP3_CONSOLE:-$(gd_newest 'gimp-console-3\.[0-9]*')}
GIMP3_CONSOLE=${GIMP3_CONSOLE:-gimp-console-3}
GIMP3_GUI=${GIMP3_GUI:-$(gd_newest 'gimp-3\.[0-9]*')}
GIMP3_GUI=${GIMP3_GUI:-gimp-3}

# gd_args PLUGIN MODEL VOCAB [WORKDIR]: PLUGIN is "" when the build made the other front end.
gd_args() {
  PLUGIN=${1:-} MODEL=${2:-} VOCAB=${3:-} WORK=${4:-}
}

# gd_need_host 2|3 [TOOL...]: SKIP unless that GIMP's console (and each TOOL) is installed.
gd_need_host() {
  local v=$1 t; shift
  local console=gimp-console-2.10
  [ "$v" = 3 ] && console=$GIMP3_CONSOLE
  for t in "$console" "$@"; do
    command -v "$t" >/dev/null || skip "$t is not installed"
  done
}

# gd_need_gui 2|3: SKIP unless that GIMP's GUI and the X tools the GUI drivers use are here.
gd_need_gui() {
  local gui=gimp-2.10
  [ "$1" = 3 ] && gui=$GIMP3_GUI
  gd_need_host "$1" "$gui" xvfb-run xdotool xwininfo import dbus-run-session
}

gd_need_plugin() {
  [ -n "$PLUGIN" ] && [ -x "$PLUGIN" ] || skip "the GIMP $1 front end was not built (meson -Dgimp=$1)"
}
gd_need_pil() {
  "$PY" -c 'import PIL' 2>/dev/null || skip "python3-pil is not installed"
}
gd_need_model() {
  [ -r "$MODEL" ] || fail "model $MODEL not readable"
}

# gd_start 2|3 NAME NEEDS PLUGIN MODEL VOCAB [WORKDIR]: the arguments, the checks NEEDS asks
# for (words: gui = GIMP's GUI and the X tools, else its console; pil; model), and WORK
# (gd_workdir gd-NAME).
gd_start() {
  local v=$1 name=$2 needs=" $3 "
  shift 3
  gd_args "$@"
  if [[ $needs == *" gui "* ]]; then gd_need_gui "$v"; else gd_need_host "$v"; fi
  gd_need_plugin "$v"
  [[ $needs == *" pil "* ]] && gd_need_pil
  [[ $needs == *" model "* ]] && gd_need_model
  gd_workdir "gd-$name"
}

# gd_workdir PREFIX: WORK made absolute and empty (a mktemp folder when none was given), with
# WORK/tmp as $TMPDIR (GIMP 2.10 keeps its swap there) and WORK/config as the config home
# (no config file: the arguments or the environment must name the model).
gd_workdir() {
  WORK=$(realpath -m "${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")}")
  rm -rf "$WORK"; mkdir -p "$WORK/tmp"
  export TMPDIR=$WORK/tmp XDG_CONFIG_HOME=$WORK/config NO_AT_BRIDGE=1
  export GD_WORK=$WORK GD_HERE=$HERE   # for the scripts GIMP runs (gd_gimp3.py)
  unset GIMP_DIFFUSION_MODEL GIMP_DIFFUSION_VOCAB
}

# gd_profile 2|3 [presets]: a fresh profile in WORK/profile (GIMP2_DIRECTORY or
# GIMP3_DIRECTORY; the user's own is never touched) with the plug-in installed where that
# GIMP looks for it, and with "presets" the test's user presets (tests/gimp/presets, one
# of which overrides a shipped preset). Also writes WORK/in.png, the test image, and
# WORK/sd2-in.png, the SD 2.x scenario's (make_input.py says why).
gd_profile() {
  local v=$1 dir=$WORK/profile
  if [ "$v" = 2 ]; then
    export GIMP2_DIRECTORY=$dir
    timeout 300 gimp-console-2.10 -i -d -f -b '(gimp-quit 0)' >"$WORK/first-start.log" 2>&1
    mkdir -p "$dir/plug-ins"
    install -m 755 "$PLUGIN" "$dir/plug-ins/gimp-diffusion"
  else
    export GIMP3_DIRECTORY=$dir
    if [ -d /opt/gimp3-profile-template ]; then   # made by make-gimp3-chroot.sh: saves 10-15 s
      cp -a /opt/gimp3-profile-template "$dir"
    else
      timeout 300 "$GIMP3_CONSOLE" -i -d -f --quit >"$WORK/first-start.log" 2>&1
    fi
    mkdir -p "$dir/plug-ins/gimp-diffusion"        # GIMP 3: plug-ins/<name>/<name>
    install -m 755 "$PLUGIN" "$dir/plug-ins/gimp-diffusion/gimp-diffusion"
  fi
  if [ "${2:-}" = presets ]; then
    mkdir -p "$dir/diffusion/presets"
    cp "$HERE"/presets/*.json "$dir/diffusion/presets/"
    # The dialog tests pick the first entry of the preset menu by keyboard: the shipped set
    # they see is the one preset the test's own "Fast draft" overrides, so a preset added to
    # presets/ cannot take the first place ("Fast (LCM-LoRA)" sorts before "Fast draft").
    if [ "${GD_ONLY_OVERRIDDEN_SHIPPED:-0}" = 1 ]; then
      mkdir -p "$WORK/shipped-presets"
      cp "$HERE/../../presets/fast-draft.json" "$WORK/shipped-presets/"
      export GIMP_DIFFUSION_PRESETS=$WORK/shipped-presets
    fi
  fi
  "$PY" "$HERE/make_input.py" "$WORK/in.png" "$WORK/sd2-in.png"
}

# gd_options_config: for the options scenario (check_options.py), the LoRA and TAESD
# fixtures beside the model's folder (../golden-lora, ../golden-taesd/tiny-taesd; the GIMP 3
# chroot mounts them there too) named in the config file as lora_dir and taesd; LORA is the
# LoRA file the scenario runs. Returns 1, the scenario then skipped, without them.
gd_options_config() {
  local shared taesd
  shared=$(realpath -m "$(dirname "$MODEL")/..")
  LORA=$shared/golden-lora/lora_a_kohya.safetensors taesd=$shared/golden-taesd/tiny-taesd
  [ -r "$LORA" ] && [ -d "$taesd" ] || { echo "SKIP: options scenario: no $LORA or $taesd"; return 1; }
  # the LoRA fixtures are made for ../golden's tiny SD 1 model (an SD 2 model refuses them);
  # by its file name, as gimp3-chroot.sh mounts its folder as /gd/model
  [ "$(basename "$MODEL")" = tiny-sd1.safetensors ] ||
    { echo "SKIP: options scenario: its LoRA fits ../golden's tiny SD 1 model, not $MODEL"; return 1; }
  mkdir -p "$XDG_CONFIG_HOME/gimp-diffusion"
  printf '{"lora_dir": "%s", "taesd": "%s"}\n' "$shared/golden-lora" "$taesd" \
    >"$XDG_CONFIG_HOME/gimp-diffusion/config.json"
  export GD_LORA=$LORA
}

# gd_sd2_config: for the SD 2.x scenario (check_sd2.py; issue 14), when MODEL is
# ../golden-sd2's tiny-sd2.safetensors: SD2_DIR (its folder, which holds tiny-sd2-v and the
# 9-channel tiny-sd2-inpaint too) and DIFFUSE, the CLI the jobs are compared with (GD_DIFFUSE,
# else beside the plug-in in its build tree). Returns 1, the scenario then skipped, for
# another model; fails when the SD 2 fixtures or the CLI are missing.
gd_sd2_config() {
  SD2_DIR=$(dirname "$MODEL")
  # told by the file name, as gd_options_config does (the chroot's folder is /gd/model)
  [ "$(basename "$MODEL")" = tiny-sd2.safetensors ] ||
    { echo "SKIP: SD 2.x scenario: it runs on ../golden-sd2's tiny models, not $MODEL"; return 1; }
  local f
  for f in tiny-sd2-v tiny-sd2-inpaint; do
    [ -r "$SD2_DIR/$f.safetensors" ] || fail "SD 2.x scenario: $SD2_DIR/$f.safetensors not readable"
  done
  DIFFUSE=${GD_DIFFUSE:-$(dirname "$PLUGIN")/../engine/tools/diffuse}
  [ -x "$DIFFUSE" ] || fail "SD 2.x scenario: no diffuse CLI at $DIFFUSE (set GD_DIFFUSE)"
}

# gd2_batch LOG EXPR: one headless GIMP 2.10 run of a Script-Fu expression. gimp-console-2.10
# always exits 0: the scripts write WORK/marker, and the driver judges by it. It execs, like
# gd3_batch: run it in a subshell, `(gd2_batch ...)`.
gd2_batch() {
  exec timeout "${GD_TIMEOUT:-600}" gimp-console-2.10 -i -d -f -b "$2" -b '(gimp-quit 0)' >"$1" 2>&1
}

# gd3_batch LOG SCRIPT...: one headless GIMP 3 run of python-fu scripts from this folder, with
# GD_WORK, GD_MODEL, GD_VOCAB and GD_HERE in the environment (and whatever the caller puts
# before the call). It execs: run it in a subshell, `(gd3_batch ...)`, whose pid is then
# GIMP's parent (kill_plugin.sh looks two levels down for the plug-in).
gd3_batch() {
  local log=$1 s b=(); shift
  for s in "$@"; do b+=(-b "exec(open('$HERE/$s').read())"); done
  GD_WORK=$WORK GD_MODEL=$MODEL GD_VOCAB=$VOCAB GD_HERE=$HERE \
    exec timeout "${GD_TIMEOUT:-900}" "$GIMP3_CONSOLE" -i -d -f \
    --batch-interpreter=python-fu-eval "${b[@]}" --quit >"$log" 2>&1
}

# gd_show_log 2|3 LOG: the log without the console noise.
gd_show_log() {
  local noise=$GD_NOISE2
  [ "$1" = 3 ] && noise=$GD_NOISE3
  grep -Ev "$noise" "$2"
}

# gd3_last_values PROC <<'LAST' ... LAST: the procedure's last values as GIMP 3 keeps them
# (GimpConfig text, a file named after the config type): its dialog starts from these.
gd3_last_values() {
  mkdir -p "$GIMP3_DIRECTORY/plug-in-settings"
  { echo '# settings'; echo; cat; echo; echo '# end of settings'; } \
    >"$GIMP3_DIRECTORY/plug-in-settings/GimpProcedureConfigRun-$1.last"
}

# gd3_img2img_last PROMPT [LORA]: Image to Image's last values, short runs (the defaults, 512 px
# and 20 steps, take minutes on a CPU) with the model from the environment (no model
# argument), precision fp32 and clip skip 2 (gd_check_gui_precision); with LORA, the dialog's
# first LoRA chooser holds it at weight 0.8.
gd3_img2img_last() {
  local lora=
  [ -z "${2:-}" ] || lora=$(printf '(lora-1 "%s")\n(lora-1-weight 0.8)' "$2")
  gd3_last_values plug-in-diffusion-img2img <<LAST
(prompt "$1")
(negative-prompt "")
(strength 0.6)
(steps 4)
(cfg-scale 7.5)
(sampler "euler_a")
(seed 42)
(random-seed no)
(work-size 128)
(context-padding 16)
(feather 4.0)
(color-match no)
(model NULL)
(vocab NULL)
(precision "fp32")
(clip-skip 2)
$lora
LAST
}

# gd_check_gui_lora: after a GUI run whose dialog's first LoRA chooser held $LORA at 0.8 (none
# when LORA is empty), its parasite (WORK/gui-parasite.json) names that LoRA.
gd_check_gui_lora() {
  [ -n "${LORA:-}" ] || return 0
  grep -q '"loras":\[{"file":"lora_a_kohya.safetensors","weight":0.8}\]' "$WORK/gui-parasite.json" ||
    fail "the dialog's LoRA chooser did not reach the run: $(cat "$WORK/gui-parasite.json")"
  echo "ok   the dialog's LoRA chooser ran (parasite: lora_a_kohya.safetensors at 0.8)"
}

# gd_check_gui_precision: the dialog started from last values holding precision fp32 and clip
# skip 2 (Advanced, folded), and the run used them (WORK/gui-parasite.json).
gd_check_gui_precision() {
  grep -q '"precision":"fp32"' "$WORK/gui-parasite.json" && grep -q '"clip_skip":2' "$WORK/gui-parasite.json" &&
    grep -q '"bf16_kernel":"none"' "$WORK/gui-parasite.json" ||
    fail "the dialog's precision / clip skip did not reach the run: $(cat "$WORK/gui-parasite.json")"
  echo "ok   the dialog's precision (fp32) and clip skip (2) ran"
}

# gd_check_gui_undo: after gui_drive.sh, the batch's marker says it finished, the layer was
# named after the last values' prompt, and Ctrl+Z brought the image back.
gd_check_gui_undo() {
  [ "$(cat "$WORK/marker")" = OK ] || fail "the GUI batch stopped at: $(cat "$WORK/marker")"
  local name
  name=$(cat "$WORK/layer-name.txt")
  [ "$name" = "a red barn in a field" ] ||
    fail "layer '$name': the dialog did not start from the last values"
  echo "ok   dialog started from the last values (layer '$name')"
  "$PY" "$HERE/same_pixels.py" "$WORK/in.png" "$WORK/undone-out.png" "image after Ctrl+Z"
}

# gd_gui_run GIMP_ARGS... -- DRIVER DRIVER_ARGS...: under Xvfb and a D-Bus session, starts
# GIMP (its log in WORK/gimp.log), runs DRIVER with GIMP's pid first, waits for GIMP to end.
# Sets rc to the driver's status. Retries when another xvfb-run took the display number.
gd_gui_run() {
  local t0 try
  t0=$(date +%s)
  for try in 1 2 3; do
    rc=0
    timeout 600 xvfb-run -a -n $((100 + RANDOM % 800)) -s "-screen 0 1280x800x24" \
      dbus-run-session -- "$HERE/xvfb_inner.sh" "$WORK/gimp.log" "$WORK/profile" "$@" || rc=$?
    [ $rc = 3 ] || break
  done
  echo "GUI run: $(( $(date +%s) - t0 )) s"
}
