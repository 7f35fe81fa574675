"""Calibration: step the fan through its settings, measure its draw and the room's pressure at each, fit the
room's leakage curve, and write a file the controller's configuration picks up.

Pure parts: `sweep` (what to measure), `settling` (when a step has settled, and its averages), `fit` (the
leakage law), `model` (the calibration as data and JSON), `report` (what it means on this battery),
`config` (the `[calibration]` section). The shell: `session` drives the devices, `store` writes files.
"""
