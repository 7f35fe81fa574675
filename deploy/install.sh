#!/usr/bin/env bash
# Install (or remove) the cleanroom controller as a system service on Raspberry Pi OS (Debian bookworm
# and later). Safe to run again: every step checks before it changes anything.
#
#   sudo deploy/install.sh [--enable-pwm] [--enable-i2c]     install or upgrade from this checkout
#   sudo deploy/install.sh --uninstall                       remove the program, keep config and data
#   sudo deploy/install.sh --uninstall --purge               remove config, data and the user too
#
# What it sets up:
#   user and group  cleanroom (system account, no login), in the groups bluetooth, dialout, gpio and i2c only
#   program         /opt/cleanroom/venv (a virtual environment with this project installed)
#   configuration   /etc/cleanroom/config.toml (copied from deploy/config.example.toml once, never overwritten)
#   state           /var/lib/cleanroom (history database, saved estimates)
#   service         /etc/systemd/system/cleanroom.service, enabled
#   device names    /etc/udev/rules.d/99-cleanroom-serial.rules
#   clean power-off /etc/polkit-1/rules.d/50-cleanroom-poweroff.rules (lets the service run systemctl poweroff)
#   boot config     with --enable-pwm / --enable-i2c: the hardware PWM and I2C overlays in config.txt
#   hardware watchdog  with --hardware-watchdog: /etc/systemd/system.conf.d/cleanroom-watchdog.conf
#
# --root DIR (or DESTDIR=DIR) installs into a scratch root instead of this machine: accounts are written
# with useradd/groupadd --prefix DIR, the unit is enabled with systemctl --root DIR, and the commands that
# only make sense on a live system (apt-get, systemctl daemon-reload/start/stop, udevadm) are printed as
# "would run: ..." instead of being run. The virtual environment is built in DIR/opt/cleanroom/venv and
# its scripts name that path, so a --root install is for tests and inspection, not for copying elsewhere.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

readonly APP=cleanroom
readonly SERVICE_USER=cleanroom
readonly DEVICE_GROUPS=(bluetooth dialout gpio i2c)
readonly OPT_DIR=/opt/cleanroom
readonly CONFIG_DIR=/etc/cleanroom
readonly STATE_DIR=/var/lib/cleanroom
readonly UNIT_PATH=/etc/systemd/system/cleanroom.service
readonly UDEV_RULES_PATH=/etc/udev/rules.d/99-cleanroom-serial.rules
readonly MODULES_LOAD_PATH=/etc/modules-load.d/cleanroom-i2c.conf
readonly POLKIT_RULE_PATH=/etc/polkit-1/rules.d/50-cleanroom-poweroff.rules
readonly WATCHDOG_CONF_PATH=/etc/systemd/system.conf.d/cleanroom-watchdog.conf
readonly BLOCK_BEGIN="# BEGIN cleanroom (deploy/install.sh)"
readonly BLOCK_END="# END cleanroom"
readonly PWM_OVERLAY_DEFAULT="dtoverlay=pwm-2chan"
readonly I2C_PARAM="dtparam=i2c_arm=on"

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly DEPLOY_DIR
readonly LOCK_FILE="$DEPLOY_DIR/requirements.lock"
# shellcheck source=lib/accounts.sh
source "$DEPLOY_DIR/lib/accounts.sh"
# shellcheck source=lib/boot.sh
source "$DEPLOY_DIR/lib/boot.sh"

ROOT="${DESTDIR:-}"
SOURCE="$(dirname "$DEPLOY_DIR")"
PYTHON=python3
PIP_ARGS=()
USE_LOCK=1
ENABLE_PWM=0
ENABLE_I2C=0
PWM_OVERLAY="$PWM_OVERLAY_DEFAULT"
BOOT_CONFIG=""
HARDWARE_WATCHDOG=""
UNINSTALL=0
PURGE=0
START=0
REBOOT_NEEDED=0
FIRST_CONFIG=0
CHANGED=0

usage() {
  cat <<EOF
Usage: $0 [options]

Install or upgrade:
  --enable-pwm            enable hardware PWM in the boot config ($PWM_OVERLAY_DEFAULT: GPIO18 and GPIO19)
  --pwm-overlay LINE      the overlay line to use instead, e.g. "dtoverlay=pwm,pin=12,func=4"
  --enable-i2c            enable the I2C bus on GPIO2/GPIO3 ($I2C_PARAM) and load i2c-dev
  --boot-config FILE      the boot config to edit (default: /boot/firmware/config.txt, else /boot/config.txt)
  --hardware-watchdog[=TIME]  let systemd feed the Pi's hardware watchdog (RuntimeWatchdogSec, default 15s:
                          the Pi's watchdog counts at most about 15 s), so that a hung kernel reboots
  --start                 start (or restart) the service now; by default a first install only enables it,
                          so that you can edit $CONFIG_DIR/config.toml first
  --source PATH           what pip installs into the virtual environment (default: this checkout, $SOURCE)
  --python PATH           the Python (3.11 or later) that builds the virtual environment (default: python3)
  --pip-arg ARG           an extra argument for pip install (repeatable), e.g. --pip-arg=--no-deps
  --no-lock               resolve the dependencies from pyproject.toml's ranges instead of installing the
                          tested versions from deploy/requirements.lock (by hash)

Remove:
  --uninstall             stop and remove the service and program; keep $CONFIG_DIR and $STATE_DIR
  --purge                 with --uninstall: also remove the configuration, the state and the user

Testing:
  --root DIR              install into the scratch root DIR instead of this machine (also: DESTDIR=DIR)
  -h, --help              this help
EOF
}

die() {
  echo "install.sh: $*" >&2
  exit 1
}

say() {
  echo "install.sh: $*"
}

parse_args() {
  while (($#)); do
    case "$1" in
      --root) (($# >= 2)) || die "--root needs a directory"; ROOT="$2"; shift ;;
      --root=*) ROOT="${1#*=}" ;;
      --source) (($# >= 2)) || die "--source needs a path"; SOURCE="$2"; shift ;;
      --source=*) SOURCE="${1#*=}" ;;
      --python) (($# >= 2)) || die "--python needs a path"; PYTHON="$2"; shift ;;
      --python=*) PYTHON="${1#*=}" ;;
      --pip-arg) (($# >= 2)) || die "--pip-arg needs a value"; PIP_ARGS+=("$2"); shift ;;
      --pip-arg=*) PIP_ARGS+=("${1#*=}") ;;
      --no-lock) USE_LOCK=0 ;;
      --enable-pwm) ENABLE_PWM=1 ;;
      --pwm-overlay) (($# >= 2)) || die "--pwm-overlay needs a line"; PWM_OVERLAY="$2"; ENABLE_PWM=1; shift ;;
      --pwm-overlay=*) PWM_OVERLAY="${1#*=}"; ENABLE_PWM=1 ;;
      --enable-i2c) ENABLE_I2C=1 ;;
      --hardware-watchdog) HARDWARE_WATCHDOG=15s ;;
      --hardware-watchdog=*) HARDWARE_WATCHDOG="${1#*=}" ;;
      --boot-config) (($# >= 2)) || die "--boot-config needs a file"; BOOT_CONFIG="$2"; shift ;;
      --boot-config=*) BOOT_CONFIG="${1#*=}" ;;
      --start) START=1 ;;
      --uninstall) UNINSTALL=1 ;;
      --purge) PURGE=1 ;;
      -h | --help) usage; exit 0 ;;
      *) die "unknown option '$1' (see --help)" ;;
    esac
    shift
  done
  if ((PURGE && !UNINSTALL)); then
    die "--purge only goes with --uninstall"
  fi
  case "$PWM_OVERLAY" in
    dtoverlay=pwm*) ;;
    *) die "--pwm-overlay '$PWM_OVERLAY': expected a line like 'dtoverlay=pwm-2chan' or 'dtoverlay=pwm,pin=18,func=2'" ;;
  esac
  if [[ -n "$HARDWARE_WATCHDOG" && ! "$HARDWARE_WATCHDOG" =~ ^[0-9]+(s|min)?$ ]]; then
    die "--hardware-watchdog=$HARDWARE_WATCHDOG: expected a time such as 15s"
  fi
  if [[ -n "$ROOT" ]]; then
    [[ -d "$ROOT" ]] || die "--root '$ROOT': expected an existing directory"
    ROOT="$(cd "$ROOT" && pwd)"
    [[ "$ROOT" != / ]] || ROOT=""
  fi
}

live() {
  [[ -z "$ROOT" ]]
}

# A command that only makes sense on the running system: run it, or in --root mode print it.
run_live() {
  if live; then
    "$@"
  else
    printf 'would run:'
    printf ' %q' "$@"
    printf '\n'
  fi
}

# Copy a file only when its content differs; CHANGED says whether it did.
install_file() {
  local source="$1" target="$2" mode="$3"
  CHANGED=0
  if [[ -f "$target" ]] && cmp -s "$source" "$target"; then
    chmod "$mode" "$target"
    return 0
  fi
  mkdir -p "$(dirname "$target")"
  install -m "$mode" "$source" "$target"
  CHANGED=1
  say "installed $(strip_root "$target")"
}

warn() {
  echo "install.sh: warning: $*" >&2
}

# Reload the udev rules. Without udevadm, or without a udevd to talk to (a container), the rules still
# take effect at the next boot: a warning, not a failure.
reload_udev() {
  if ! live; then
    run_live udevadm control --reload
    (($# == 0)) || run_live udevadm trigger --subsystem-match=tty --action=add
    return 0
  fi
  if ! command -v udevadm >/dev/null; then
    warn "udevadm not found: the udev rules take effect at the next boot"
    return 0
  fi
  if ! udevadm control --reload 2>/dev/null; then
    warn "udevadm could not reload the rules (no udevd running, e.g. in a container): they take effect at the next boot"
    return 0
  fi
  (($# == 0)) || udevadm trigger --subsystem-match=tty --action=add ||
    warn "udevadm trigger failed: replug the serial adapters or reboot"
}

strip_root() {
  echo "${1#"$ROOT"}"
}

check_target() {
  if live; then
    ((EUID == 0)) || die "run as root (sudo $0 ...), or use --root DIR to install into a scratch root"
  else
    for file in etc/passwd etc/group etc/shadow etc/gshadow; do
      [[ -f "$ROOT/$file" ]] || die "--root $ROOT: expected $ROOT/$file (the scratch root needs account files)"
    done
  fi
}

ensure_python() {
  # Debian splits venv's pip bootstrap out of the standard library into python3-venv.
  if live && [[ "$PYTHON" == python3 ]] && command -v dpkg >/dev/null && ! dpkg -s python3-venv >/dev/null 2>&1; then
    say "installing python3-venv"
    apt-get install -y python3-venv
  fi
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    die "$PYTHON is Python $("$PYTHON" -c 'import platform; print(platform.python_version())'); expected 3.11 or later"
}

install_program() {
  local venv="$ROOT$OPT_DIR/venv"
  mkdir -p "$ROOT$OPT_DIR"
  if [[ ! -x "$venv/bin/python" ]]; then
    "$PYTHON" -m venv "$venv"
    say "created the virtual environment $(strip_root "$venv")"
  fi
  [[ -e "$SOURCE" ]] || die "--source '$SOURCE': no such file or directory"
  local pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
  if ((USE_LOCK)); then
    # The versions the tests ran, each file checked against its hash; the build backend is in the lock
    # too, so that building this project fetches nothing unchecked.
    [[ -f "$LOCK_FILE" ]] || die "missing $LOCK_FILE (or pass --no-lock)"
    "${pip[@]}" --require-hashes "${PIP_ARGS[@]}" -r "$LOCK_FILE"
    "${pip[@]}" --upgrade --no-deps --no-build-isolation "${PIP_ARGS[@]}" "$SOURCE"
  else
    "${pip[@]}" --upgrade "${PIP_ARGS[@]}" "$SOURCE"
  fi
  [[ -x "$venv/bin/$APP" ]] || die "pip install did not create $(strip_root "$venv")/bin/$APP"
  say "installed $APP $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("cleanroom"))') into $(strip_root "$venv")"
  if [[ -f "$SOURCE/hardware.md" ]]; then
    install_file "$SOURCE/hardware.md" "$ROOT$OPT_DIR/hardware.md" 0644
  fi
}

install_config_and_state() {
  local example="$DEPLOY_DIR/config.example.toml"
  [[ -f "$example" ]] || die "missing $example"
  mkdir -p "$ROOT$CONFIG_DIR"
  own root "$SERVICE_USER" 0750 "$ROOT$CONFIG_DIR"
  # The newest example stays beside the configuration, for comparing after an upgrade.
  install_file "$example" "$ROOT$CONFIG_DIR/config.example.toml" 0640
  own root "$SERVICE_USER" 0640 "$ROOT$CONFIG_DIR/config.example.toml"
  if [[ ! -e "$ROOT$CONFIG_DIR/config.toml" ]]; then
    install -m 0640 "$example" "$ROOT$CONFIG_DIR/config.toml"
    own root "$SERVICE_USER" 0640 "$ROOT$CONFIG_DIR/config.toml"
    FIRST_CONFIG=1
    say "created $CONFIG_DIR/config.toml from the example: edit it for your battery, fan and sensors"
  else
    say "kept the existing $CONFIG_DIR/config.toml"
  fi
  mkdir -p "$ROOT$STATE_DIR"
  own "$SERVICE_USER" "$SERVICE_USER" 0750 "$ROOT$STATE_DIR"
}

install_service() {
  install_file "$DEPLOY_DIR/systemd/cleanroom.service" "$ROOT$UNIT_PATH" 0644
  local unit_changed="$CHANGED"
  install_file "$DEPLOY_DIR/udev/99-cleanroom-serial.rules" "$ROOT$UDEV_RULES_PATH" 0644
  if ((CHANGED)); then
    reload_udev trigger
  fi
  install_file "$DEPLOY_DIR/polkit/50-cleanroom-poweroff.rules" "$ROOT$POLKIT_RULE_PATH" 0644
  if live && ! command -v pkcheck >/dev/null; then
    say "polkitd is not installed: the service cannot power the Pi off (apt-get install polkitd)"
  fi
  if ((unit_changed)); then
    run_live systemctl daemon-reload
  fi
  if live; then
    systemctl enable --quiet "$APP.service"
  else
    systemctl --root="$ROOT" enable --quiet "$APP.service" 2>/dev/null
  fi
  if ((START)); then
    run_live systemctl restart "$APP.service"
  elif ((FIRST_CONFIG)); then
    say "enabled $APP.service; edit $CONFIG_DIR/config.toml, check it with"
    say "  $OPT_DIR/venv/bin/cleanroom check-config $CONFIG_DIR/config.toml"
    say "then start it: systemctl start $APP.service"
  else
    run_live systemctl try-restart "$APP.service"
  fi
}

do_install() {
  check_target
  check_boot_config
  ensure_accounts
  ensure_python
  install_program
  install_config_and_state
  configure_boot
  configure_hardware_watchdog
  install_service
  if ((REBOOT_NEEDED)); then
    say "the boot configuration changed: reboot before starting the service"
  fi
  say "done"
}

remove_path() {
  if [[ -e "$1" || -L "$1" ]]; then
    rm -rf "$1"
    say "removed $(strip_root "$1")"
  fi
}

do_uninstall() {
  check_target
  if [[ -e "$ROOT$UNIT_PATH" ]]; then
    run_live systemctl stop "$APP.service"
    if live; then
      systemctl disable --quiet "$APP.service"
    else
      systemctl --root="$ROOT" disable --quiet "$APP.service" 2>/dev/null
    fi
  fi
  remove_path "$ROOT$UNIT_PATH"
  run_live systemctl daemon-reload
  if [[ -e "$ROOT$UDEV_RULES_PATH" ]]; then
    remove_path "$ROOT$UDEV_RULES_PATH"
    reload_udev
  fi
  remove_path "$ROOT$MODULES_LOAD_PATH"
  remove_path "$ROOT$POLKIT_RULE_PATH"
  if [[ -e "$ROOT$WATCHDOG_CONF_PATH" ]]; then
    remove_path "$ROOT$WATCHDOG_CONF_PATH"
    run_live systemctl daemon-reexec
  fi
  local config
  config="$(find_boot_config)"
  if [[ -n "$config" && -f "$config" ]] && grep -qxF "$BLOCK_BEGIN" "$config"; then
    write_boot_block "$config"
  fi
  remove_path "$ROOT$OPT_DIR"
  if ((PURGE)); then
    remove_path "$ROOT$CONFIG_DIR"
    remove_path "$ROOT$STATE_DIR"
    local args
    mapfile -t args < <(account_args)
    if user_exists "$SERVICE_USER"; then
      userdel "${args[@]}" "$SERVICE_USER"
      say "removed user $SERVICE_USER"
    fi
    if group_exists "$SERVICE_USER"; then
      groupdel "${args[@]}" "$SERVICE_USER"
    fi
  else
    say "kept $CONFIG_DIR, $STATE_DIR and the user $SERVICE_USER (--purge removes them)"
  fi
  say "done"
}

main() {
  parse_args "$@"
  if ((UNINSTALL)); then
    do_uninstall
  else
    do_install
  fi
}

main "$@"
