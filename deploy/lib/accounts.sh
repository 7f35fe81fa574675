# shellcheck shell=bash
# The service account on the target system (live, or a scratch root through the shadow tools' --prefix),
# and ownership by the target's own numeric ids. Sourced by deploy/install.sh.

# Arguments that point the shadow tools (useradd, groupadd, usermod, userdel) at the scratch root.
account_args() {
  if ! live; then
    printf '%s\n' --prefix "$ROOT"
  fi
}

group_exists() {
  if live; then
    getent group "$1" >/dev/null
  else
    grep -q "^$1:" "$ROOT/etc/group"
  fi
}

user_exists() {
  if live; then
    getent passwd "$1" >/dev/null
  else
    grep -q "^$1:" "$ROOT/etc/passwd"
  fi
}

# The numeric id of a user or group, from the target system's own account files.
numeric_id() {
  local database="$1" name="$2"
  if live; then
    getent "$database" "$name" | cut -d: -f3
  else
    awk -F: -v name="$name" '$1 == name { print $3 }' "$ROOT/etc/$database"
  fi
}

user_groups() {
  if live; then
    id -nG "$SERVICE_USER" | tr ' ' '\n' | grep -vx "$SERVICE_USER" | sort | paste -sd, -
  else
    awk -F: -v user="$SERVICE_USER" '
      { n = split($4, members, ","); for (i = 1; i <= n; i++) if (members[i] == user) print $1 }
    ' "$ROOT/etc/group" | sort | paste -sd, -
  fi
}

# Set owner (by the target's numeric ids) and mode.
own() {
  local owner="$1" group="$2" mode="$3" path="$4"
  local uid gid
  uid="$(numeric_id passwd "$owner")"
  gid="$(numeric_id group "$group")"
  [[ -n "$uid" && -n "$gid" ]] || die "cannot find $owner:$group on the target system"
  if ((EUID == 0)); then
    chown "$uid:$gid" "$path"
  else
    say "not root: leaving $path owned by $(id -un) (would be $owner:$group)"
  fi
  chmod "$mode" "$path"
}

ensure_accounts() {
  local args
  mapfile -t args < <(account_args)
  for group in "${DEVICE_GROUPS[@]}"; do
    if ! group_exists "$group"; then
      # Raspberry Pi OS ships bluetooth, dialout, gpio and i2c; plain Debian lacks gpio and i2c (and bluetooth
      # until bluez is installed). BlueZ lets the bluetooth group use its D-Bus API (the Bluetooth shunts).
      groupadd "${args[@]}" --system "$group"
      say "created group $group (on plain Debian add udev rules that give it the devices; Pi OS has them)"
    fi
  done
  if ! user_exists "$SERVICE_USER"; then
    local own_group=(--user-group)
    # A group left behind by an earlier removal of the user becomes its primary group again.
    group_exists "$SERVICE_USER" && own_group=(--gid "$SERVICE_USER")
    useradd "${args[@]}" --system "${own_group[@]}" --no-create-home --home-dir "$STATE_DIR" \
      --shell /usr/sbin/nologin --comment "cleanroom controller" "$SERVICE_USER"
    say "created user $SERVICE_USER"
  fi
  local wanted
  wanted="$(printf '%s\n' "${DEVICE_GROUPS[@]}" | sort | paste -sd, -)"
  if [[ "$(user_groups)" != "$wanted" ]]; then
    usermod "${args[@]}" -G "$wanted" "$SERVICE_USER"
    say "user $SERVICE_USER is in the groups $wanted"
  fi
}
