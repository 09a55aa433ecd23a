"""What every command of the project promises its user: the exit statuses, one way to
set the log level, and one log format.

The ML commands (``ml.train``, ``ml.score``, ``ml.pipeline``) and ``reports.build``
build their parsers here, so ``--verbose`` and ``--log-level`` mean the same on
each and a script can read every exit status alike. It sits with the contracts
because ``reports`` may import nothing else of ``ml`` (reports/contracts.py).
"""

from __future__ import annotations

import argparse
import logging
import sys

EXIT_STATUS = "Exit status: 0 on success, 1 with a one-line cause on failure, 2 on bad options."
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def command_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """A command's parser with the exit-status epilog every command shares."""
    return argparse.ArgumentParser(prog=prog, description=description, epilog=EXIT_STATUS)


def add_logging_options(parser: argparse.ArgumentParser) -> None:
    """One way to set verbosity on every command: --log-level, or --verbose (-v) for DEBUG."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--log-level",
        default="INFO",
        choices=LOG_LEVELS,
        help="Logging verbosity (default: INFO; DEBUG also logs every configuration tried).",
    )
    group.add_argument(
        "--verbose",
        "-v",
        dest="log_level",
        action="store_const",
        const="DEBUG",
        help="Same as --log-level DEBUG.",
    )


def configure_logging(level: str) -> None:
    """Timestamped log lines on stderr."""
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
