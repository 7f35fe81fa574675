"""Configuration of the physical system: [battery], [power_path], [fan] and [room]."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from controller import units
from controller.config.reader import Table
from controller.errors import ConfigError
from controller.models.fan import FanCurve, load_curve_file, parse_curve_rows
from controller.models.power_path import PRESETS, PowerPath
from controller.truth.ocv import OcvCurve, lifepo4_curve

DEFAULT_RESERVE_PCT = 10.0
"""The energy the controller never spends when [battery] reserve is not set (also `cleanroom plan`'s default)."""
REFERENCE_FAN = Path(__file__).resolve().parent.parent / "data" / "fan-airfanta-3pro-12vdc.csv"


@dataclass(frozen=True, slots=True)
class BatterySection:
    """The battery and how to tell when it is full."""

    capacity_ah: float
    nominal_v: float
    reserve_pct: float
    charged_v: float
    tail_current_pct: float
    charged_time_s: float
    cutoff_v: float
    self_discharge_pct_per_month: float = 3.0
    confidence_pct: float = 90.0
    """The plan spends the energy estimate's lower bound at this one-sided confidence."""
    capacity_uncertainty_pct: float = 13.0
    """One standard deviation of the configured capacity until one is learned: labels are optimistic and
    packs age (the trust bench: 13 % lets a pack with 80 % of its label last its week, and the reference
    week keeps 0.985 of its bound)."""
    ocv: OcvCurve | None = None
    """The open-circuit-voltage curve (None: the LiFePO4 default for the nominal voltage)."""

    @property
    def curve(self) -> OcvCurve:
        """The OCV curve in use."""
        return self.ocv if self.ocv is not None else lifepo4_curve(self.nominal_v)

    @property
    def energy_wh(self) -> float:
        """Capacity times nominal voltage."""
        return self.capacity_ah * self.nominal_v


def parse_battery(table: Table) -> BatterySection:
    """[battery]"""
    nominal_v = table.quantity("nominal_voltage", units.VOLTAGE, "12.8 V", low=3.0, high=60.0)
    cells = nominal_v / 12.8  # the voltage defaults are a 4-cell LiFePO4 pack's, scaled to this pack
    section = BatterySection(
        capacity_ah=table.quantity("capacity", units.CHARGE, "100 Ah", low=1.0, high=10_000.0),
        nominal_v=nominal_v,
        reserve_pct=table.quantity("reserve", units.FRACTION, f"{DEFAULT_RESERVE_PCT:g} %", low=0.0, high=90.0),
        charged_v=table.quantity("charged_voltage", units.VOLTAGE, f"{14.0 * cells:.4g} V", low=3.0, high=70.0),
        tail_current_pct=table.quantity("tail_current", units.FRACTION, "4 %", low=0.1, high=20.0),
        charged_time_s=table.quantity("charged_time", units.DURATION, "3 min", low=10.0, high=3600.0),
        cutoff_v=table.quantity("cutoff_voltage", units.VOLTAGE, f"{10.0 * cells:.4g} V", low=2.0, high=60.0),
        self_discharge_pct_per_month=table.quantity("self_discharge", units.FRACTION, "3 %", low=0.0, high=50.0),
        confidence_pct=table.quantity("confidence", units.FRACTION, "90 %", low=50.0, high=99.9),
        capacity_uncertainty_pct=table.quantity("capacity_uncertainty", units.FRACTION, "13 %", low=0.5, high=50.0),
        ocv=_ocv_curve(table) if table.has("ocv_curve") else None,
    )
    table.finish()
    return section


def _ocv_curve(table: Table) -> OcvCurve:
    """`ocv_curve = [{ soc = "0 %", voltage = "10 V" }, ...]`: resting voltage from 0 % to 100 %."""
    socs, volts = [], []
    for index, item in enumerate(table.array("ocv_curve")):
        if not isinstance(item, dict):
            raise table.error(f"ocv_curve[{index}]", item, '{ soc = "50 %", voltage = "13.2 V" }')
        row = Table(item, table.source, f"{table.key_name('ocv_curve')}[{index}].")
        socs.append(row.quantity("soc", units.FRACTION, low=0.0, high=100.0))
        volts.append(row.quantity("voltage", units.VOLTAGE, low=1.0, high=100.0))
        row.finish()
    try:
        return OcvCurve(tuple(socs), tuple(volts))
    except ValueError as exc:
        raise table.error("ocv_curve", f"{len(socs)} points", str(exc)) from exc


def parse_power_path(table: Table, battery: BatterySection | None) -> PowerPath:
    """[power_path]: a preset with every figure overridable, plus the controller's own draw.

    For `diy-12v` the store is the battery itself, so its energy follows [battery] unless overridden.
    """
    name = table.string("preset", "diy-12v", choices=tuple(PRESETS))
    preset = PRESETS[name]
    default_energy = battery.energy_wh if (battery is not None and name == "diy-12v") else preset.store_energy_wh
    efficiencies = preset.efficiencies
    if table.has("efficiencies"):
        raw = table.array("efficiencies")
        parsed = []
        for index, item in enumerate(raw):
            sub = Table({"value": item}, table.source, f"{table.key_name('efficiencies')}[{index}].")
            parsed.append(sub.quantity("value", units.FRACTION, low=1.0, high=100.0) / 100.0)
        efficiencies = tuple(parsed)
    path = PowerPath(
        name=name,
        store_energy_wh=table.quantity("stored_energy", units.ENERGY, f"{default_energy} Wh", low=1.0, high=1e6),
        standing_w=table.quantity("standing_overhead", units.POWER, f"{preset.standing_w} W", low=0.0, high=1000.0),
        efficiencies=efficiencies,
        controller_draw_w=table.quantity("controller_draw", units.POWER, "0 W", low=0.0, high=100.0),
        converter_efficiency=table.quantity("converter_efficiency", units.FRACTION, "100 %", low=10.0, high=100.0)
        / 100.0,
        description=preset.description,
    )
    table.finish()
    return path


@dataclass(frozen=True, slots=True)
class FanSection:
    """The fan's curve and how it may be driven."""

    curve: FanCurve
    curve_source: str
    min_duty_pct: float
    kick_start_pct: float
    kick_start_s: float
    slew_pct_per_s: float
    safe_speed_pct: float


def parse_fan(table: Table, base_dir: Path) -> FanSection:
    """[fan]: `curve = "file.csv"` (relative to the config file) or inline `points`, or the reference fan."""
    kind = table.string("kind", "auto", choices=("auto", "discrete", "continuous"))
    continuous = None if kind == "auto" else kind == "continuous"
    if table.has("curve") and table.has("points"):
        raise table.error("points", "(both)", "either curve (a CSV file) or points (inline), not both")
    if table.has("points"):
        rows = []
        for index, item in enumerate(table.array("points")):
            if not isinstance(item, dict):
                raise table.error(f"points[{index}]", item, '{ setting = "1", power = "1.93 W", flow = "57 CFM" }')
            row = Table(item, table.source, f"{table.key_name('points')}[{index}].")
            setting = row.string("setting")
            power = row.quantity("power", units.POWER, low=0.0, low_exclusive=True)
            flow = row.quantity("flow", units.FLOW, low=0.0, low_exclusive=True)
            row.finish()
            rows.append((setting, power, flow))
        curve = parse_curve_rows(rows, table.source, continuous, name="fan")
        curve_source = f"{table.source} [fan].points"
    else:
        raw = table.optional_string("curve")
        path = REFERENCE_FAN if raw is None else (base_dir / raw).resolve()
        if raw is not None and not path.is_file():
            raise table.error("curve", raw, f"a CSV file of setting,watts,cfm (looked for {path})")
        curve = load_curve_file(path, continuous)
        curve_source = str(path)
    section = FanSection(
        curve=curve,
        curve_source=curve_source,
        min_duty_pct=table.quantity("min_duty", units.FRACTION, "0 %", low=0.0, high=90.0),
        kick_start_pct=table.quantity("kick_start", units.FRACTION, "0 %", low=0.0, high=100.0),
        kick_start_s=table.quantity("kick_start_time", units.DURATION, "2 s", low=0.0, high=60.0),
        slew_pct_per_s=table.quantity("slew_rate", units.FRACTION, "10 %", low=0.1, high=100.0),
        safe_speed_pct=table.quantity("safe_speed", units.FRACTION, "50 %", low=1.0, high=100.0),
    )
    table.finish()
    return section


@dataclass(frozen=True, slots=True)
class RoomSection:
    """The room's leakage curve Q = C * dP^n (from calibration, or an estimate)."""

    leakage_c_cfm: float
    leakage_n: float


def parse_room(table: Table) -> RoomSection:
    """[room]"""
    section = RoomSection(
        leakage_c_cfm=table.quantity("leakage_c", units.FLOW, "39 CFM", low=0.1, high=100_000.0),
        leakage_n=table.number("leakage_n", 0.65, low=0.4, high=1.0),
    )
    table.finish()
    return section


def require_file(table: Table, key: str, base_dir: Path) -> Path:
    """A path key resolved against the config file's folder, which must exist."""
    raw = table.string(key)
    path = (base_dir / raw).resolve()
    if not path.exists():
        raise ConfigError(table.source, table.key_name(key), raw, f"an existing file (looked for {path})")
    return path
