# shellcheck shell=bash
# The boot configuration (config.txt overlays for hardware PWM and I2C, in a marked block that is
# rewritten, never duplicated) and the hardware watchdog. Sourced by deploy/install.sh.

find_boot_config() {
  if [[ -n "$BOOT_CONFIG" ]]; then
    echo "$ROOT$BOOT_CONFIG"
  elif [[ -f "$ROOT/boot/firmware/config.txt" ]]; then
    echo "$ROOT/boot/firmware/config.txt"
  elif [[ -f "$ROOT/boot/config.txt" ]]; then
    echo "$ROOT/boot/config.txt"
  fi
}

# The lines of our block in the boot config (without markers and the [all] filter).
block_lines() {
  awk -v begin="$BLOCK_BEGIN" -v end="$BLOCK_END" '
    $0 == begin { inside = 1; next }
    $0 == end { inside = 0; next }
    inside && $0 != "[all]" { print }
  ' "$1"
}

without_block() {
  awk -v begin="$BLOCK_BEGIN" -v end="$BLOCK_END" '
    $0 == begin { inside = 1; next }
    $0 == end { inside = 0; next }
    !inside { print }
  ' "$1"
}

# Rewrite the boot config with our block holding exactly these lines (none: no block).
write_boot_block() {
  local config="$1"
  shift
  local updated
  updated="$(mktemp)"
  without_block "$config" >"$updated"
  if (($#)); then
    # [all]: lines after a [pi4]-style filter would otherwise apply to that model only.
    printf '%s\n' "$BLOCK_BEGIN" "[all]" "$@" "$BLOCK_END" >>"$updated"
  fi
  if cmp -s "$updated" "$config"; then
    rm -f "$updated"
    return
  fi
  [[ -e "$config.cleanroom-backup" ]] || cp -p "$config" "$config.cleanroom-backup"
  cat "$updated" >"$config"
  rm -f "$updated"
  REBOOT_NEEDED=1
  say "updated $(strip_root "$config") (reboot for it to take effect)"
}

check_boot_config() {
  ((ENABLE_PWM || ENABLE_I2C)) || return 0
  local config
  config="$(find_boot_config)"
  [[ -n "$config" && -f "$config" ]] ||
    die "no boot config found (looked for /boot/firmware/config.txt and /boot/config.txt); pass --boot-config FILE"
}

configure_boot() {
  ((ENABLE_PWM || ENABLE_I2C)) || return 0
  local config
  config="$(find_boot_config)"
  # The block holds at most one PWM overlay line and the I2C line, in that order; what an earlier run
  # enabled stays enabled.
  local existing=() pwm_line="" i2c_line="" lines=()
  mapfile -t existing < <(block_lines "$config")
  for line in "${existing[@]}"; do
    case "$line" in
      dtoverlay=pwm*) pwm_line="$line" ;;
      "$I2C_PARAM") i2c_line="$line" ;;
    esac
  done
  ((ENABLE_PWM)) && pwm_line="$PWM_OVERLAY"
  ((ENABLE_I2C)) && i2c_line="$I2C_PARAM"
  [[ -n "$pwm_line" ]] && lines+=("$pwm_line")
  [[ -n "$i2c_line" ]] && lines+=("$i2c_line")
  if ((ENABLE_I2C)); then
    local modules
    modules="$(mktemp)"
    echo "i2c-dev" >"$modules"
    install_file "$modules" "$ROOT$MODULES_LOAD_PATH" 0644
    rm -f "$modules"
  fi
  write_boot_block "$config" "${lines[@]}"
}

# systemd pings the SoC's watchdog every RuntimeWatchdogSec/2; if the kernel hangs the pings stop and the
# hardware resets the Pi. Read by systemd at boot or daemon-reexec (a container has no /dev/watchdog: systemd
# only logs that).
configure_hardware_watchdog() {
  [[ -n "$HARDWARE_WATCHDOG" ]] || return 0
  local conf
  conf="$(mktemp)"
  printf '%s\n' "# Written by deploy/install.sh --hardware-watchdog (hardware.md, \"Fail-safe wiring\")." \
    "[Manager]" "RuntimeWatchdogSec=$HARDWARE_WATCHDOG" "RebootWatchdogSec=10min" >"$conf"
  install_file "$conf" "$ROOT$WATCHDOG_CONF_PATH" 0644
  rm -f "$conf"
  if ((CHANGED)); then
    run_live systemctl daemon-reexec
  fi
}
