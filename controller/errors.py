"""The project's small exception tree; drivers add their own under DeviceError in drivers.base."""


class CleanroomError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(CleanroomError):
    """A configuration value (file, CLI flag, MQTT or HTTP command) that cannot be used.

    The message always names where the value came from, the key, the value and what was expected.
    """

    def __init__(self, source: str, key: str, value: object, expected: str) -> None:
        self.source = source
        self.key = key
        self.value = value
        self.expected = expected
        shown = "(missing)" if value is MISSING_VALUE else shorten(repr(value))
        super().__init__(f"{source}: {key} = {shown}: expected {expected}")


SHOWN_VALUE_CHARS = 80


def shorten(text: str) -> str:
    """A value as messages show it: at most SHOWN_VALUE_CHARS characters, saying how long it really was."""
    if len(text) <= SHOWN_VALUE_CHARS:
        return text
    return f"{text[: SHOWN_VALUE_CHARS - 20]}... ({len(text)} characters)"


class _Missing:
    def __repr__(self) -> str:
        return "(missing)"


MISSING_VALUE: object = _Missing()
