"""The one way a URL's password is hidden, wherever a URL is shown: the daemon's logs, error messages,
`check-config` and the health endpoint."""

from __future__ import annotations

import re

MASK = "***"
_PASSWORD = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@?#]*):.*@")
"""scheme://user:password@...: everything from the user's colon to the last '@' (a password may hold an
unencoded '@' or '/'; hiding too much is the safe side)."""


def masked_url(url: str) -> str:
    """`url` with its password replaced by ***; a URL without a password is returned as it is."""
    return _PASSWORD.sub(rf"\g<head>:{MASK}@", url, count=1)


def masked(value: object) -> object:
    """A value as it may be shown: a string that holds a URL is masked, anything else is unchanged."""
    return masked_url(value) if isinstance(value, str) and "://" in value else value
