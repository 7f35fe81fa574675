"""`cleanroom token`: show the HTTP API token (creating it, owner-only, if the daemon has not yet)."""

from __future__ import annotations

import argparse
from pathlib import Path


def _state_dir(args: argparse.Namespace) -> str:
    from controller.config.loader import DEFAULT_STATE_DIR, parse_controller, read_toml

    if args.state_dir:
        return str(args.state_dir)
    if args.config:
        return parse_controller(read_toml(Path(args.config)).table("controller")).state_dir
    return DEFAULT_STATE_DIR


def run(args: argparse.Namespace) -> int:
    """Print the token; `--rotate` replaces it (the running daemon picks the new one up at once)."""
    from web.tokens import load_or_create_token, token_path

    state_dir = _state_dir(args)
    token = load_or_create_token(state_dir, rotate=args.rotate)
    print(token)
    if not args.quiet:
        print(f"(stored in {token_path(state_dir)}; send it as 'Authorization: Bearer <token>')")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `token`."""
    parser = subparsers.add_parser(
        "token",
        help="show the token that HTTP commands need",
        description="Print the API token the dashboard asks for once (it keeps it on the phone) and that "
        "HTTP commands need as 'Authorization: Bearer <token>'. The daemon creates it at first start in "
        "<state_dir>/api-token, readable by its owner only; this command creates it if it does not exist yet.",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--state-dir", metavar="DIR", help="the controller's state directory (default: /var/lib/cleanroom)"
    )
    where.add_argument("--config", metavar="FILE", help="read state_dir from this configuration file's [controller]")
    parser.add_argument("--rotate", action="store_true", help="replace the token with a new one (revokes the old)")
    parser.add_argument("--quiet", action="store_true", help="print only the token (for scripts)")
    parser.set_defaults(handler=run)
