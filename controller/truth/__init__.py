"""What the battery really holds: the OCV curve and a Kalman-style estimator that fuses the coulomb count
with the voltage (pure: no I/O, no clock)."""

from controller.truth.filter import (
    Energy,
    LearnedCapacity,
    TruthReading,
    TruthSettings,
    TruthState,
    energy,
    resistance_sigma_ohm,
    start,
    update,
)
from controller.truth.ocv import OcvCurve, lifepo4_curve

__all__ = [
    "Energy",
    "LearnedCapacity",
    "OcvCurve",
    "TruthReading",
    "TruthSettings",
    "TruthState",
    "energy",
    "lifepo4_curve",
    "resistance_sigma_ohm",
    "start",
    "update",
]
