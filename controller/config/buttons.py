"""`[devices.fan]` with `driver = "buttons"` or `"ir"`: a purifier's buttons pressed through GPIO lines
or its remote's codes sent by an IR transmitter, read and checked against the fan curve (whose labels name
the settings and whose watts verify them). The driver itself is built in controller.button_fan (this
module stays free of asyncio, which `cleanroom plan` must not load)."""

from __future__ import annotations

from dataclasses import replace

from controller import units
from controller.config.control import ControlSection
from controller.config.plant import FanSection
from controller.config.reader import Table
from controller.errors import ConfigError
from controller.models.fan import FanCurve
from drivers.buttons.plan import LAYOUTS, Layout
from drivers.buttons.verify import DEFAULT_ABSOLUTE_W, DEFAULT_RELATIVE, PowerSignature
from drivers.config import ButtonsFanConfig, DevicesSection

BUTTON_SHARE_PERIOD = "30 min"
"""The default time-sharing period for a pressed purifier: a third of the presses of the usual 10 min."""
SOURCE = "[devices.fan]"


BUTTON_NAMES = ("cycle", "up", "down", "power", "off", *(str(k) for k in range(1, 33)))


def _wiring(table: Table, driver: str) -> dict[str, object]:
    """The GPIO lines (buttons) or the IR transmitter and codes (ir) of each button."""
    if driver == "buttons":
        lines_table = table.table("lines", required=True)
        lines = [(n, lines_table.integer(n, low=0, high=511)) for n in BUTTON_NAMES if lines_table.has(n)]
        lines_table.finish()
        return {
            "chip": table.string("chip", "gpiochip0"),
            "lines": tuple(lines),
            "active_low": table.boolean("active_low", False),
            "press_s": table.quantity("press", units.DURATION, "150 ms", low=0.02, high=5.0),
            "release_s": table.quantity("release", units.DURATION, "350 ms", low=0.02, high=5.0),
        }
    codes_table = table.table("codes", required=True)
    codes = [(n, codes_table.string(n)) for n in BUTTON_NAMES if codes_table.has(n)]
    codes_table.finish()
    for name, code in codes:
        if not code.strip() or len(code) > 4096:
            raise codes_table.error(name, code, 'a scancode such as "nec:0x40bf" or a file from `cleanroom learn-ir`')
    return {
        "device": table.string("device", "/dev/lirc0"),
        "codes": tuple(codes),
        "gap_s": table.quantity("gap", units.DURATION, "300 ms", low=0.05, high=10.0),
        "ir_ctl": table.string("ir_ctl", "ir-ctl"),
        "driver": "ir",
    }


def parse_buttons_fan(table: Table, driver: str = "buttons") -> ButtonsFanConfig:
    """The rest of a `driver = "buttons"` or `"ir"` fan table (the driver key is read)."""
    layout = table.string("layout", "cycle", choices=LAYOUTS)
    wiring = _wiring(table, driver)
    cycle = table.array("cycle", []) if layout == "cycle" else []
    if layout == "cycle" and (len(cycle) < 2 or not all(isinstance(c, str) for c in cycle)):
        raise table.error("cycle", cycle, 'the settings one press steps through, in order, e.g. ["off", "1", "2"]')
    watts = []
    for index, item in enumerate(table.array("setting_watts", [])):
        sub = Table({"value": item}, table.source, f"{table.key_name('setting_watts')}[{index}].")
        watts.append(sub.quantity("value", units.POWER, low=0.0, high=10_000.0))
    config = ButtonsFanConfig(
        layout=layout,
        cycle=tuple(str(c) for c in cycle),
        power_up=table.string("power_up", "last"),
        power_on=table.string("power_on", "last"),
        settle_s=table.quantity("settle", units.DURATION, "5 s", low=0.5, high=120.0),
        verify=table.boolean("verify", True),
        setting_watts=tuple(watts),
        tolerance_w=table.optional_quantity("power_tolerance", units.POWER, low=0.01, high=100.0),
        standby_w=table.quantity("standby_power", units.POWER, "0 W", low=0.0, high=50.0),
        **wiring,  # type: ignore[arg-type]
    )
    table.finish()
    return config


def position(config: ButtonsFanConfig, labels: tuple[str, ...], key: str, label: str) -> int:
    if label == "off":
        return 0
    if label not in labels:
        raise ConfigError(SOURCE, key, label, f'"off" or one of the fan curve\'s settings: {", ".join(labels)}')
    return labels.index(label) + 1


def button_layout(config: ButtonsFanConfig, curve: FanCurve) -> Layout:
    """The purifier's buttons over the curve's settings; a label or wiring that does not fit is a
    ConfigError naming the key."""
    if curve.continuous:
        raise ConfigError(SOURCE, "driver", "buttons", "a [fan] curve of discrete settings (labels, not duty %)")
    labels = tuple(p.setting for p in curve.points)
    lines = config.button_names
    power_on = None if config.power_on == "last" else position(config, labels, "power_on", config.power_on)
    per_setting = tuple(position(config, labels, f"lines.{n}", n) for n in lines if n.isdigit())
    try:
        layout = Layout(
            config.layout,  # type: ignore[arg-type]
            len(labels),
            order=tuple(position(config, labels, "cycle", label) for label in config.cycle),
            per_setting=per_setting if config.layout == "per-setting" else (),
            has_off_button="off" in lines,
            has_power="power" in lines,
            power_on=power_on,
        )
    except ValueError as exc:
        raise ConfigError(SOURCE, "layout", config.layout, str(exc)) from exc
    missing = [b for b in layout.buttons if b not in lines]
    if missing:
        key, what = ("codes", "an IR code") if config.driver == "ir" else ("lines", "a GPIO line")
        raise ConfigError(SOURCE, key, sorted(lines), f"{what} for each button: {', '.join(layout.buttons)}")
    return layout


def signature(config: ButtonsFanConfig, curve: FanCurve) -> PowerSignature | None:
    """Each setting's watts and tolerance (None: verification off)."""
    if not config.verify:
        return None
    watts = config.setting_watts or tuple(p.power_w for p in curve.points)
    if len(watts) != len(curve.points):
        raise ConfigError(SOURCE, "setting_watts", list(watts), f"one power per setting ({len(curve.points)})")
    if config.tolerance_w is None and len(config.learned_tolerances_w) == len(watts):
        standby = DEFAULT_ABSOLUTE_W + DEFAULT_RELATIVE * config.standby_w
        return PowerSignature.capped((config.standby_w, *watts), (standby, *config.learned_tolerances_w))
    if config.tolerance_w is None:
        return PowerSignature.from_watts(watts, standby_w=config.standby_w)
    return PowerSignature.from_watts(watts, standby_w=config.standby_w, absolute_w=config.tolerance_w, relative=0.0)


def check_buttons(devices: DevicesSection, fan: FanSection, source: str = SOURCE) -> None:
    """A `buttons` fan's labels, wiring and watts checked against the [fan] curve when the file is read
    (errors name the file and the key as `devices.fan.KEY`)."""
    try:
        _check(devices, fan)
    except ConfigError as exc:
        if source == SOURCE:
            raise
        raise ConfigError(source, f"devices.fan.{exc.key}", exc.value, exc.expected) from exc


def _check(devices: DevicesSection, fan: FanSection) -> None:
    if isinstance(devices.fan, ButtonsFanConfig):
        button_layout(devices.fan, fan.curve)
        signature(devices.fan, fan.curve)
        labels = tuple(p.setting for p in fan.curve.points)
        for key in ("power_up", "power_on"):
            label = getattr(devices.fan, key)
            if label != "last":
                position(devices.fan, labels, key, label)


def learned_tolerances(watts: tuple[float, ...], stderr_w: tuple[float, ...]) -> tuple[float, ...]:
    """Each setting's tolerance from its calibration: five standard errors of its measured mean (at least
    0.15 W) plus 6 % of its watts for the drift of a motor and a battery voltage over an outage."""
    return tuple(max(0.15, 5.0 * e) + 0.06 * w for w, e in zip(watts, stderr_w, strict=True))


def with_calibration(devices: DevicesSection, fan: FanSection, stderr_w: tuple[float, ...]) -> DevicesSection:
    """A buttons fan's tolerances learned from the calibration (unless `power_tolerance` is set)."""
    buttons = devices.fan
    if not isinstance(buttons, ButtonsFanConfig) or buttons.tolerance_w is not None or not stderr_w:
        return devices
    watts = tuple(p.power_w for p in fan.curve.points)
    if len(watts) != len(stderr_w):
        return devices
    return replace(devices, fan=replace(buttons, learned_tolerances_w=learned_tolerances(watts, stderr_w)))


def button_share_period(control: ControlSection, explicit: bool) -> ControlSection:
    """A pressed purifier time-shares in longer periods (fewer presses) unless [control] says otherwise."""
    if explicit:
        return control
    return replace(control, share_period_s=units.parse(BUTTON_SHARE_PERIOD, units.DURATION))
