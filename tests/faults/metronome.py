"""A loop that does nothing but sleep its tick, run beside the daemon under test: its lateness is what the
machine's scheduling alone costs a 1-tick loop at that moment (two cores shared with other test runs), so
the daemon's lateness can be judged beyond it. Prints its own LoopTiming summary on SIGTERM.

Run: python -m tests.faults.metronome TICK_S
"""

from __future__ import annotations

import signal
import sys
import time

from controller.loop_timing import LoopTiming


def main() -> None:
    tick_s = float(sys.argv[1])
    timing = LoopTiming(tick_s)
    running = True

    def stop(_signum: int, _frame: object) -> None:
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    next_tick = time.monotonic()
    while running:
        timing.started(time.monotonic())
        next_tick += tick_s
        time.sleep(max(0.0, next_tick - time.monotonic()))
    print(timing.summary(), flush=True)


if __name__ == "__main__":
    main()
