"""The API token that guards commands: generated once, kept in `<state_dir>/api-token`, owner-only.

The daemon re-reads the file when it changes, so `cleanroom token --rotate` revokes the old token
without a restart.
"""

from __future__ import annotations

import logging
import os
import pwd
import secrets
import shlex
import shutil
import stat
import sys
from pathlib import Path

from controller.errors import ConfigError

log = logging.getLogger(__name__)

TOKEN_FILE = "api-token"
MIN_TOKEN_CHARS = 20
SYSTEM_UID_LIMIT = 1000
"""Debian's first uid for people (adduser's FIRST_UID): below it, system accounts such as the service's."""


def token_path(state_dir: str | os.PathLike[str]) -> Path:
    """Where the token lives."""
    return Path(state_dir) / TOKEN_FILE


def token_command(state_dir: str | os.PathLike[str]) -> str:
    """The shell command that prints this process's token, as a person logged in on the same machine types it.

    It names the state directory (the simulator's changes per run) and the program this process runs from
    when that is not the `cleanroom` on PATH; a daemon running as a system user (the service's `cleanroom`)
    owns a token only it can read, so the command goes through `sudo -u` that user."""
    program = Path(sys.argv[0]).absolute()
    on_path = shutil.which("cleanroom")
    if program.name != "cleanroom" or (on_path is not None and Path(on_path).absolute() == program):
        command = "cleanroom"
    else:
        command = shlex.quote(str(program))
    uid = os.geteuid()
    prefix = f"sudo -u {shlex.quote(pwd.getpwuid(uid).pw_name)} " if 0 < uid < SYSTEM_UID_LIMIT else ""
    return f"{prefix}{command} token --state-dir {shlex.quote(str(Path(state_dir).absolute()))}"


def _write_new(path: Path) -> str:
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(token + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return token


def _read(path: Path) -> str:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s was readable by others (mode %o); restricting it to its owner", path, mode)
        path.chmod(0o600)
    token = path.read_text(encoding="ascii").strip()
    if len(token) < MIN_TOKEN_CHARS or not token.isprintable() or " " in token:
        raise ConfigError(
            str(path), "(token)", "(hidden)", f"a token of at least {MIN_TOKEN_CHARS} characters without spaces"
        )
    return token


def load_or_create_token(state_dir: str | os.PathLike[str], *, rotate: bool = False) -> str:
    """The token, created with 0600 permissions on first use (or replaced when `rotate`)."""
    path = token_path(state_dir)
    try:
        if rotate or not path.exists():
            token = _write_new(path)
            log.info("created a new API token in %s", path)
            return token
        return _read(path)
    except OSError as exc:
        raise ConfigError(str(path), "(token file)", str(path), f"a writable state directory ({exc.strerror})") from exc


class TokenStore:
    """Checks presented tokens in constant time against the file, reloading it when it changes."""

    def __init__(self, state_dir: str | os.PathLike[str]) -> None:
        self.path = token_path(state_dir)
        self._token = load_or_create_token(state_dir)
        self._stamp = self._file_stamp()

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            info = self.path.stat()
        except OSError:
            return None
        return info.st_mtime_ns, info.st_ino

    def _current(self) -> str:
        stamp = self._file_stamp()
        if stamp is not None and stamp != self._stamp:
            try:
                self._token = _read(self.path)
                self._stamp = stamp
                log.info("reloaded the API token from %s", self.path)
            except (OSError, ConfigError) as exc:
                log.warning("kept the previous API token: %s", exc)
        return self._token

    def check(self, presented: str | None) -> bool:
        """Whether `presented` is the current token."""
        if not presented:
            return False
        return secrets.compare_digest(presented.encode("utf-8", "replace"), self._current().encode("ascii"))
