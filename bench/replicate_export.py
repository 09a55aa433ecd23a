"""Replicate the shop's real export to millions of customers for the warehouse benchmark.

Each copy of the real export gets new ids (the original id plus a multiple of
an id stride wider than the real id range) and small deterministic jitter on
its numbers. The jitter of a record is a function of the copy number and the
record's 12 market_file attributes (not its id), so the real export's double
registrations (records identical but for the id) stay twins in every copy,
while other customers rarely collide. Labels, periods and the files' formats
(separators, decimal comma in money.csv) are kept as exported.

Not the project's synthetic generator (`python -m ml.sample_data`): this keeps
the real export's label spellings, distributions and duplicate structure.

    python bench/replicate_export.py ../shared/data/raw data/bench/raw_1m --customers 1000000

Written with DuckDB (one COPY per file), so 10 M customers take about a
minute. Output goes under data/ (gitignored); never commit it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import duckdb

log = logging.getLogger("bench.replicate_export")

ATTRIBUTES = [
    "Покупательская активность",
    "Тип сервиса",
    "Разрешить сообщать",
    "Маркет_актив_6_мес",
    "Маркет_актив_тек_мес",
    "Длительность",
    "Акционные_покупки",
    "Популярная_категория",
    "Средний_просмотр_категорий_за_визит",
    "Неоплаченные_продукты_штук_квартал",
    "Ошибка_сервиса",
    "Страниц_за_визит",
]


def _q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def copies_needed(real_customers: int, customers: int) -> int:
    """Copies of the real export that give at least *customers* records."""
    return max(1, -(-customers // real_customers))


def id_stride(min_id: int, max_id: int) -> int:
    """A round id step wider than the real id range, so copies never share an id."""
    span = max_id - min_id + 1
    stride = 10
    while stride < span:
        stride *= 10
    return stride


def replicate(raw_dir: Path, out_dir: Path, customers: int, seed: int = 0) -> int:
    """Write the four files of a replicated export to *out_dir*; return its number of records."""
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("set preserve_insertion_order = true")

    def read(name: str, delim: str = ",", decimal: str = ".") -> str:
        return (
            f"read_csv('{raw_dir / name}', header = true, delim = '{delim}', "
            f"decimal_separator = '{decimal}', all_varchar = false)"
        )

    con.execute(f"create table market_file as select * from {read('market_file.csv')}")
    con.execute(f"create table market_money as select * from {read('market_money.csv')}")
    con.execute(f"create table market_time as select * from {read('market_time.csv')}")
    con.execute(f"create table money as select * from {read('money.csv', ';', ',')}")
    n_real, min_id, max_id = con.execute(
        "select count(*), min(id), max(id) from market_file"
    ).fetchone()
    n_copies = copies_needed(n_real, customers)
    stride = id_stride(min_id, max_id)
    # The twin key: every market_file attribute but the id.
    twin_key = "hash(" + ", ".join(_q(column) for column in ATTRIBUTES) + ")"
    con.execute(
        f"create table keys as select id, {twin_key} as twin_key, "
        "row_number() over () as ord from market_file"
    )
    con.execute(
        f"create table copies as select range as copy from range({n_copies})"
        f" where range * {n_real} < {customers}"
    )

    # u(k, key, salt): a uniform number in [0, 1) fixed by copy, twin key and column.
    def u(salt: str) -> str:
        return f"(hash(copy, twin_key, {seed}, '{salt}') % 1000000) / 1000000.0"

    new_id = f"id + copy * {stride}"
    limit = f"copy * {n_real} + ord <= {customers}"
    jitter_customers = {
        "Маркет_актив_6_мес": f"round(greatest(0, {_q('Маркет_актив_6_мес')}"
        f" + round(({u('m6')} - 0.5) * 4) / 10), 1)",
        "Длительность": f"greatest(0, {_q('Длительность')} + cast(floor({u('t')} * 7) as int) - 3)",
        "Акционные_покупки": f"least(1, greatest(0, round({_q('Акционные_покупки')}"
        f" + round(({u('p')} - 0.5) * 4) / 100, 2)))",
    }
    columns = ["id", *ATTRIBUTES]
    select_customers = ", ".join(
        f"{new_id} as id"
        if column == "id"
        else f"{jitter_customers[column]} as {_q(column)}"
        if column in jitter_customers
        else _q(column)
        for column in columns
    )
    base = "from copies cross join {table} join keys using (id) where " + limit
    con.execute(
        f"copy (select {select_customers} {base.format(table='market_file')}"
        " order by copy, ord) to '" + str(out_dir / "market_file.csv") + "' (header, delimiter ',')"
    )
    # Revenue: up to ±2 % per copy and month, one decimal; zeros stay zero
    # (inactive customers stay inactive).
    con.execute(
        f'copy (select {new_id} as id, "Период", round("Выручка" * (1 + '
        f'({u("r")} - 0.5) * 0.04), 1) as "Выручка" '
        f"{base.format(table='market_money')} order by copy, ord) to '"
        + str(out_dir / "market_money.csv")
        + "' (header, delimiter ',')"
    )
    con.execute(
        f'copy (select {new_id} as id, "Период", greatest(0, "минут" + '
        f'cast(floor({u("min")} * 3) as int) - 1) as "минут" '
        f"{base.format(table='market_time')} order by copy, ord) to '"
        + str(out_dir / "market_time.csv")
        + "' (header, delimiter ',')"
    )
    con.execute(
        f'copy (select {new_id} as id, replace(cast(round(greatest(0, "Прибыль" + '
        f"round(({u('pr')} - 0.5) * 10) / 100), 2) as varchar), '.', ',') as \"Прибыль\" "
        f"{base.format(table='money')} order by copy, ord) to '"
        + str(out_dir / "money.csv")
        + "' (header, delimiter ';', quote '')"
    )
    written = min(customers, n_copies * n_real)
    log.info("%d customers (%d copies of %d) written to %s", written, n_copies, n_real, out_dir)
    return written


def main(argv: list[str] | None = None) -> int:
    """Replicate a real export to the requested number of customers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw_dir", type=Path, help="directory with the real export's four CSVs")
    parser.add_argument("out_dir", type=Path, help="directory to write the replicated export to")
    parser.add_argument("--customers", type=int, required=True, help="number of customer records")
    parser.add_argument("--seed", type=int, default=0, help="jitter seed (same seed, same files)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    replicate(args.raw_dir, args.out_dir, args.customers, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
