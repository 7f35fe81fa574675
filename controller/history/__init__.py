"""History: the recorder sink, its [history] section, the tables and the reader.

The lead wires it as:
    section = parse_history(table.table("history"))
    recorder = build_recorder(args.db, controller_id, section, clock, state_dir)
    tg.create_task(recorder.run(hub, commands))
    recorder.reader.samples(controller_id, start_utc, end_utc)   # from the web, via asyncio.to_thread
"""

from controller.history.config import HistorySection, parse_history
from controller.history.reader import HistoryReader, HistoryUnavailable
from controller.history.recorder import Recorder, RecorderStats, build_recorder

__all__ = [
    "HistoryReader",
    "HistorySection",
    "HistoryUnavailable",
    "Recorder",
    "RecorderStats",
    "build_recorder",
    "parse_history",
]
