"""The schema migration in a child process of its own (`database.migrate` starts it when the stored revision
is not the code's): alembic, mako and pygments are loaded here and given back when this process ends,
instead of staying in a daemon that runs for weeks.

Reads `{"url": ..., "timeout_s": ...}` on standard input (so a password never shows in a process list);
exits 0 when the schema is at the code's revision, else 1 with the error as its last line on stderr.
"""

from __future__ import annotations

import json
import sys

from controller.history.database import create_history_engine, upgrade_schema


def main() -> int:
    """Migrate the database named on standard input."""
    request = json.loads(sys.stdin.read())
    engine = create_history_engine(str(request["url"]), float(request["timeout_s"]))
    try:
        upgrade_schema(engine)
    except Exception as exc:  # the parent reports the last line; the traceback would only hide it
        print(f"{exc.__class__.__name__}: {exc}".replace("\n", " "), file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
