"""The [alerts] section: defaults, units, and values refused with the key that holds them."""

from __future__ import annotations

import pytest

from controller.alerts import AlertsSection, parse_alerts
from controller.config.reader import Table
from controller.errors import ConfigError


def test_parse_alerts_defaults_and_units() -> None:
    assert parse_alerts(Table({}, "test.toml")) == AlertsSection()
    section = parse_alerts(
        Table(
            {
                "soc_warning": "40 %",
                "soc_warning_clear": "45 %",
                "runtime_warning": "2 days",
                "runtime_warning_clear": "50 h",
                "pressure_low_delay": "2 min",
            },
            "test.toml",
            "alerts.",
        )
    )
    assert section.soc_warning_pct == 40.0
    assert section.runtime_warning_s == 172800.0
    assert section.pressure_low_delay_s == 120.0


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"soc_warning_clear": "25 %"}, "alerts.soc_warning_clear"),
        ({"soc_critical": "31 %", "soc_critical_clear": "40 %"}, "alerts.soc_critical"),
        ({"pressure_low_delay": "5 Pa"}, "alerts.pressure_low_delay"),
        ({"soc_warnng": "30 %"}, "alerts.soc_warnng"),
    ],
)
def test_parse_alerts_rejects_bad_values(data: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_alerts(Table(data, "test.toml", "alerts."))
    assert info.value.key == key
    assert "test.toml" in str(info.value)
