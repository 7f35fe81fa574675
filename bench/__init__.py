"""Benchmarks: run each from the repository root as a module, e.g. `.venv/bin/python -m bench.outage`
(run as a script, bench/web.py and bench/drivers.py would shadow the packages of the same name)."""
