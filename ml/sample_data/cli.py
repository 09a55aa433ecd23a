"""The command line: ``python -m ml.sample_data [generate|fit] ...``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ml.config import resolve_paths
from ml.sample_data.export_format import ENCODING
from ml.sample_data.fitting import fit_params
from ml.sample_data.params import DEFAULT_PARAMS, dumps_params, load_params
from ml.sample_data.sampling import DEFAULT_CHUNK_SIZE
from ml.sample_data.writing import DEFAULT_OUT_DIR, write_sample

logger = logging.getLogger(__name__)

SUBCOMMANDS = ("generate", "fit")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or args_list[0] not in (*SUBCOMMANDS, "-h", "--help"):
        args_list.insert(0, "generate")
    args = build_parser().parse_args(args_list)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "fit":
        return _fit(args.raw, args.out)
    write_sample(args.out, args.customers, args.seed, load_params(args.params), args.chunk_size)
    return 0


def _fit(raw_dir: Path | None, out: Path) -> int:
    raw = resolve_paths(raw_dir=raw_dir).raw_dir
    params = fit_params(raw)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dumps_params(params), encoding=ENCODING)
    logger.info(
        "fitted %d customers from %s into %s (aggregates only)",
        params["source"]["customers"],
        raw,
        out,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The CLI: ``generate`` (the default when no subcommand is given) and ``fit``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--log-level",
        default="INFO",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="How much to log (DEBUG adds progress per chunk when generating). Default: INFO.",
    )
    parser = argparse.ArgumentParser(
        prog="python -m ml.sample_data",
        description=(
            "Synthetic customers in the exact format of the shop's raw export "
            "(market_file.csv, market_money.csv, market_time.csv, money.csv). "
            "'generate' is the default subcommand: `python -m ml.sample_data "
            "--customers 10000 --seed 1 --out DIR` works without it. "
            "'fit' derives the parameters from a real export. "
            "See `python -m ml.sample_data generate --help` for the options."
        ),
        epilog=(
            "generate options: --customers N, --seed S, --out DIR, --params FILE, "
            "--chunk-size N, --log-level LEVEL. "
            "fit options: --raw DIR, --out FILE, --log-level LEVEL. "
            "The files written are synthetic, never the shop's data."
        ),
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{generate,fit}")
    _add_subcommand(
        sub,
        common,
        "generate",
        "write a synthetic export (the default)",
        "Write the four files of a synthetic export of the shop.",
        _generate_options(),
    )
    _add_subcommand(
        sub,
        common,
        "fit",
        "derive the parameter file from a real export",
        "Fit aggregated statistics of a real export (never rows) into a JSON file.",
        _fit_options(),
    )
    return parser


# (flag, type, default, help) of one option.
_Option = tuple[str, Callable[[str], object], object, str]


def _add_subcommand(
    sub: argparse._SubParsersAction,
    common: argparse.ArgumentParser,
    name: str,
    summary: str,
    description: str,
    options: Sequence[_Option],
) -> None:
    parser = sub.add_parser(name, parents=[common], help=summary, description=description)
    for flag, kind, default, text in options:
        parser.add_argument(flag, type=kind, default=default, help=text)


def _generate_options() -> tuple[_Option, ...]:
    return (
        (
            "--customers",
            _count(0),
            1300,
            "Number of customers (rows of market_file.csv), twins included. Default: 1300, "
            "the size of the real export.",
        ),
        (
            "--seed",
            _count(0),
            0,
            "Non-negative seed; the same seed and parameter file give byte-identical files. "
            "Default: 0.",
        ),
        (
            "--out",
            Path,
            DEFAULT_OUT_DIR,
            "Directory for the four files (created if missing; existing files are "
            f"replaced). Default: {DEFAULT_OUT_DIR}.",
        ),
        (
            "--params",
            Path,
            DEFAULT_PARAMS,
            f"Parameter file written by 'fit'. Default: {DEFAULT_PARAMS}.",
        ),
        (
            "--chunk-size",
            _count(1),
            DEFAULT_CHUNK_SIZE,
            "Customers generated and written at a time; bounds memory, does not change the "
            f"output. Default: {DEFAULT_CHUNK_SIZE}.",
        ),
    )


def _fit_options() -> tuple[_Option, ...]:
    return (
        (
            "--raw",
            Path,
            None,
            "Directory with the real export's four files. Default: the project's raw "
            "directory (ONE_CLICK_RAW_DIR or data/raw).",
        ),
        (
            "--out",
            Path,
            DEFAULT_PARAMS,
            f"Where to write the parameters. Default: {DEFAULT_PARAMS}.",
        ),
    )


def _count(minimum: int) -> Callable[[str], int]:
    """An argparse type for integers of at least *minimum*, so bad input is a usage error."""

    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse
