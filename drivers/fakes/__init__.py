"""Devices that speak the real wire protocols, with switchable faults; shared by tests and `cleanroom sim`."""
