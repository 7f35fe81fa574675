"""Device register maps (pure data) and the pure functions that turn register words into readings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from drivers.modbus.registers import Register, RegisterError, decode, encode, plausible, raw_value

SHUNT_FIELDS: tuple[str, ...] = (
    "voltage_v",
    "current_a",
    "power_w",
    "soc_pct",
    "consumed_ah",
    "remaining_ah",
    "capacity_ah",
    "energy_wh",
    "temperature_c",
)
"""Values a Modbus battery monitor map may name; voltage_v and current_a are required."""

PRESSURE_UNIT_CODES_GENERIC: Mapping[int, str] = {
    0: "MPa",
    1: "kPa",
    2: "Pa",
    3: "bar",
    4: "mbar",
    5: "kgf/cm**2",
    6: "psi",
    7: "mH2O",
    8: "mmH2O",
}
"""Unit register codes of the common RS485 pressure transmitter family (Lobaro pressure sensor pages)."""

PA_PER_UNIT_GENERIC: Mapping[str, float] = {
    "MPa": 1e6,
    "kPa": 1000.0,
    "Pa": 1.0,
    "bar": 1e5,
    "mbar": 100.0,
    "kgf/cm**2": 98066.5,
    "psi": 6894.7572931683635,
    "mH2O": 9806.65,
    "mmH2O": 9.80665,
}
"""Pa per one of each unit in PRESSURE_UNIT_CODES_GENERIC (pint's values; a test checks them against pint)."""


def generic_pressure_unit_factors() -> dict[int, float]:
    """Pa per unit for each code of the generic RS485 transmitter's unit register."""
    return {code: PA_PER_UNIT_GENERIC[unit] for code, unit in PRESSURE_UNIT_CODES_GENERIC.items()}


@dataclass(frozen=True, slots=True)
class StatusCheck:
    """A status or validity register and the values of it that mean the reading is good."""

    register: Register
    good: frozenset[int]

    def check(self, spans: Mapping[ReadSpan, Sequence[int]]) -> None:
        """RegisterError unless the device says its values are good."""
        code = int(raw_value(self.register, words_for(self.register, spans)))
        if code not in self.good:
            raise RegisterError(
                f"status register {self.register.address} says {code}, not one of the good values "
                f"{sorted(self.good)}: the device reports its reading invalid (sensor fault, warming up, or a map "
                "for another firmware)"
            )


@dataclass(frozen=True, slots=True)
class ShuntMap:
    """Where a battery monitor keeps its values; `invert_current` for devices that count discharge positive."""

    registers: Mapping[str, Register]
    invert_current: bool = False
    status: StatusCheck | None = None

    def all_registers(self) -> list[Register]:
        """Every register a reading needs (values and status)."""
        return [*self.registers.values(), *([self.status.register] if self.status else [])]


@dataclass(frozen=True, slots=True)
class PressureMap:
    """A pressure transmitter: the value register, and optionally registers that say its decimals and unit.

    With `decimals_register`, the value is divided by 10**decimals; with `unit_register`, the unit code
    (looked up in `unit_factors`, Pa per unit) replaces the value register's own factor.
    """

    value: Register
    decimals_register: Register | None = None
    unit_register: Register | None = None
    unit_factors: Mapping[int, float] = field(default_factory=dict)
    temperature: Register | None = None
    status: StatusCheck | None = None

    def all_registers(self) -> list[Register]:
        """Every register a reading needs (value, decimals, unit, temperature, status)."""
        status = self.status.register if self.status else None
        extra = (self.decimals_register, self.unit_register, self.temperature, status)
        return [self.value, *(r for r in extra if r is not None)]


@dataclass(frozen=True, slots=True)
class FanMap:
    """An analogue output module or DC supply: `output` raw counts from `zero_raw` (0 %) to `full_raw` (100 %).

    `enable` (optional) is a register written `enable_on`/`enable_off`, e.g. a supply's output switch.
    """

    output: Register
    zero_raw: float
    full_raw: float
    enable: Register | None = None
    enable_on: int = 1
    enable_off: int = 0


@dataclass(frozen=True, slots=True)
class ReadSpan:
    """One read request: function code, first address, register count."""

    function_code: int
    address: int
    count: int


def plan_reads(registers: Sequence[Register], max_gap: int = 8, max_count: int = 120) -> list[ReadSpan]:
    """Group registers into as few reads as possible (same function, small gaps, at most max_count)."""
    spans: list[ReadSpan] = []
    for reg in sorted(registers, key=lambda r: (r.function_code, r.address)):
        end = reg.address + reg.count
        if spans:
            last = spans[-1]
            if (
                last.function_code == reg.function_code
                and reg.address <= last.address + last.count + max_gap
                and end - last.address <= max_count
            ):
                spans[-1] = ReadSpan(last.function_code, last.address, max(last.count, end - last.address))
                continue
        spans.append(ReadSpan(reg.function_code, reg.address, reg.count))
    return spans


def words_for(register: Register, spans: Mapping[ReadSpan, Sequence[int]]) -> list[int]:
    """The words of one register out of the read results."""
    for span, words in spans.items():
        if span.function_code == register.function_code and span.address <= register.address:
            offset = register.address - span.address
            if offset + register.count <= span.count and offset + register.count <= len(words):
                return list(words[offset : offset + register.count])
    raise RegisterError(f"register {register.address} was not read")


def shunt_values(shunt_map: ShuntMap, spans: Mapping[ReadSpan, Sequence[int]]) -> dict[str, float]:
    """SI values of every mapped field; power and SOC derived when the device has no register for them.
    RegisterError when the status register says the values are not good or a value is implausible."""
    if shunt_map.status is not None:
        shunt_map.status.check(spans)
    values = {name: decode(reg, words_for(reg, spans), name) for name, reg in shunt_map.registers.items()}
    if shunt_map.invert_current and "current_a" in values:
        values["current_a"] = -values["current_a"]
    if "power_w" not in values and "voltage_v" in values and "current_a" in values:
        values["power_w"] = values["voltage_v"] * values["current_a"]
    if "soc_pct" not in values and values.get("capacity_ah") and "remaining_ah" in values:
        values["soc_pct"] = 100.0 * values["remaining_ah"] / values["capacity_ah"]
    return values


def pressure_value(pressure_map: PressureMap, spans: Mapping[ReadSpan, Sequence[int]]) -> float:
    """Pressure in Pa, honouring the decimals and unit registers, the status register and the plausible range."""
    if pressure_map.status is not None:
        pressure_map.status.check(spans)
    value = pressure_map.value
    raw = raw_value(value, words_for(value, spans))
    if pressure_map.decimals_register is not None:
        decimals = int(raw_value(pressure_map.decimals_register, words_for(pressure_map.decimals_register, spans)))
        if not 0 <= decimals <= 6:
            raise RegisterError(f"decimal-point register says {decimals} decimals (expected 0-6)")
        raw /= 10**decimals
    if pressure_map.unit_register is not None:
        code = int(raw_value(pressure_map.unit_register, words_for(pressure_map.unit_register, spans)))
        if code not in pressure_map.unit_factors:
            raise RegisterError(
                f"unit register says code {code}, not one of {sorted(pressure_map.unit_factors)} "
                "(set the transmitter's unit or the map's unit codes)"
            )
        return plausible(value, raw * value.scale * pressure_map.unit_factors[code] + value.offset, "pressure_pa")
    return plausible(value, raw * value.factor + value.offset, "pressure_pa")


def fan_raw(fan_map: FanMap, command_pct: float) -> list[int]:
    """Output register words for a command in percent (clamped to 0-100)."""
    pct = min(100.0, max(0.0, command_pct))
    raw = fan_map.zero_raw + (fan_map.full_raw - fan_map.zero_raw) * pct / 100.0
    return encode(fan_map.output, raw * fan_map.output.factor)


def fan_pct(fan_map: FanMap, words: Sequence[int]) -> float:
    """The command in percent that output words stand for."""
    raw = raw_value(fan_map.output, words)
    span = fan_map.full_raw - fan_map.zero_raw
    return 0.0 if span == 0 else 100.0 * (raw - fan_map.zero_raw) / span
