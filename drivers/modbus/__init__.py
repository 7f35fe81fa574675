"""Modbus RTU/TCP devices through pymodbus: register maps, presets and the drivers."""
