"""Victron VE.Direct text protocol (SmartShunt, BMV-7xx): a pure codec and a serial driver."""
