"""Command line: render the HTML report site from the warehouse.

    python -m reports.build                       # published warehouse -> data/reports/
    python -m reports.build --lang ru --out /tmp/otchet
    python -m reports.build --duckdb data/warehouse/real_export.duckdb
    ONE_CLICK_PROFIT_UNIT="тыс. ₽" python -m reports.build --lang ru

The warehouse is opened read-only. The site is rendered into a temporary
directory beside the output and swapped in only when every page rendered,
so a failure never leaves a half-written report set.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from reports.config import (
    DEFAULT_LIMITS,
    ENV_PROFIT_UNIT,
    ENV_REVENUE_UNIT,
    Limits,
    MoneyUnits,
    money_units_from_env,
)
from reports.contracts import (
    ENV_DUCKDB,
    ENV_REPORTS_DIR,
    MartColumns,
    add_logging_options,
    command_parser,
    configure_logging,
    mart_columns,
    resolve_paths,
)
from reports.data import load_report_data
from reports.rendering.i18n import DEFAULT_LANGUAGE, LANGUAGES, Messages
from reports.rendering.site import render_pages, write_site

log = logging.getLogger("reports.build")


def build_reports(
    duckdb_path: Path,
    out_dir: Path,
    lang: str = DEFAULT_LANGUAGE,
    columns: MartColumns | None = None,
    limits: Limits = DEFAULT_LIMITS,
    money: MoneyUnits | None = None,
) -> list[Path]:
    """Render every page from the warehouse at *duckdb_path* into *out_dir*; return the files.

    This is what `python -m ml.train` calls after a run. *columns* defaults to
    the project's feature-mart contract; *limits* cap what a page reads and
    shows of a large warehouse; *money* is the units printed after revenue
    and profit, by default those of the environment (reports/config.py).
    """
    messages = Messages(lang, money=money if money is not None else money_units_from_env())
    data = load_report_data(Path(duckdb_path), columns or mart_columns(), limits)
    pages = render_pages(data, messages)
    files = write_site(pages, Path(out_dir))
    log.info("wrote %d pages to %s", len(files), out_dir)
    return files


def _parser() -> argparse.ArgumentParser:
    parser = command_parser(
        "python -m reports.build",
        "Render the HTML reports (overview, exploratory analysis, one page per segment, one "
        "model card per run) from the warehouse, as static files that open from disk and "
        "need no network.",
    )
    parser.add_argument(
        "--duckdb",
        type=Path,
        help=f"warehouse file to read (read-only); default: ${ENV_DUCKDB} or "
        "data/warehouse/one_click.duckdb",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help=f"directory to write the site into (replaced as a whole); default: "
        f"${ENV_REPORTS_DIR} or data/reports/",
    )
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=DEFAULT_LANGUAGE,
        help="language of every label and sentence (message catalogue "
        "reports/rendering/messages/); "
        "default: %(default)s",
    )
    parser.add_argument(
        "--revenue-unit",
        help=f"text printed after revenue amounts, e.g. ₽ (the export states none); "
        f"default: ${ENV_REVENUE_UNIT} or none",
    )
    parser.add_argument(
        "--profit-unit",
        help=f"text printed after profit amounts, e.g. 'тыс. ₽' (the export states none, "
        f"and profit need not share revenue's scale); default: ${ENV_PROFIT_UNIT} or none",
    )
    add_logging_options(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, build the site, print where it is; exit 1 with the reason on failure."""
    args = _parser().parse_args(argv)
    configure_logging(args.log_level)
    paths = resolve_paths(duckdb=args.duckdb, reports_dir=args.out)
    try:
        env = money_units_from_env()
        money = MoneyUnits(
            revenue=env.revenue if args.revenue_unit is None else args.revenue_unit.strip(),
            profit=env.profit if args.profit_unit is None else args.profit_unit.strip(),
        )
        files = build_reports(paths.duckdb, paths.reports_dir, args.lang, money=money)
    except (FileNotFoundError, ValueError) as error:
        log.error("%s", error)
        return 1
    log.info("open %s", files[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
