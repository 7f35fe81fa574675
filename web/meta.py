"""`/api/meta`: the metric, alarm and setting rows as the dashboard needs them, levels and ranges taken
from this controller's configuration."""

from __future__ import annotations

from controller.alarm_catalogue import ALARMS, AlarmRow, Level
from controller.alarm_config import AlertsSection
from controller.commands import SETTINGS, CommandLimits, Setting
from controller.metrics import METRICS, Metric
from controller.snapshot import Mode
from web.context import WebContext
from web.models import AlarmInfo, BandInfo, FanSettingInfo, MetaModel, MetricInfo, SettingInfo


def _configured(level: Level, alerts: AlertsSection) -> float | None:
    """A level that only depends on the configuration; None when it follows an input."""
    if level.input is not None:
        return None
    base = alerts.value(level.key) if level.key is not None else 0.0
    return base + (level.margin_sign * alerts.value(level.margin_key) if level.margin_key is not None else 0.0)


def _alarm(row: AlarmRow, alerts: AlertsSection) -> AlarmInfo:
    return AlarmInfo(
        kind=row.kind,
        label=row.label,
        device_class=row.device_class,
        watches=row.watches,
        symbol=row.unit.symbol if row.unit is not None else None,
        bands=[
            BandInfo(
                severity=band.severity,
                set_level=_configured(band.set_level, alerts),
                clear_level=_configured(band.clear_level, alerts),
                follows=band.set_level.input,
            )
            for band in row.bands
        ],
        delay_s=alerts.value(row.delay_key),
        return_delay_s=alerts.value(row.return_delay_key),
    )


def _metric(metric: Metric, alerts: AlertsSection) -> MetricInfo:
    thresholds = {
        band.severity: level
        for row in ALARMS
        if row.watches == metric.key
        for band in row.bands
        if (level := _configured(band.set_level, alerts)) is not None
    }
    return MetricInfo(
        key=metric.key,
        label=metric.label,
        unit=metric.unit.home_assistant,
        symbol=metric.unit.symbol,
        device_class=metric.device_class,
        state_class=metric.state_class,
        precision=metric.precision,
        recorded=metric.recorded,
        thresholds=thresholds,
    )


def _setting(setting: Setting, limits: CommandLimits) -> SettingInfo:
    span = setting.range(limits)
    return SettingInfo(
        name=setting.name,
        label=setting.label,
        expected=setting.expected(limits),
        symbol=setting.unit.symbol if setting.unit is not None else None,
        min=span[0] if span is not None else None,
        max=span[1] if span is not None else None,
        step=setting.step if span is not None else None,
        options=list(setting.options),
        state_field=setting.state_field,
    )


def build_meta(context: WebContext, version: str) -> MetaModel:
    """The dashboard's description of this controller."""
    return MetaModel(
        controller_id=context.controller_id,
        version=version,
        read_access=context.section.read_access.value,
        metrics=[_metric(m, context.alerts) for m in METRICS],
        modes=list(Mode),
        commands=[s.name for s in SETTINGS],
        alarms=[_alarm(row, context.alerts) for row in ALARMS],
        settings=[_setting(s, context.current_limits()) for s in SETTINGS],
        token_command=context.token_command,
        fan_settings=[FanSettingInfo(setting=name, command_pct=pct) for name, pct in context.fan_settings],
    )
