"""Battery monitors read over Bluetooth LE: Victron Instant Readout (victron-ble) and Anker SOLIX power
stations (SolixBLE)."""
