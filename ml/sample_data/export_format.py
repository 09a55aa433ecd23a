"""The shop export's format: file names, separators, headers, labels and columns.

One place for every fact about how the export looks, so that reading a real
export for fitting and writing a synthetic one cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

ENCODING = "utf-8"
NEWLINE = "\r\n"
MARKET_FILE = "market_file.csv"
MARKET_MONEY = "market_money.csv"
MARKET_TIME = "market_time.csv"
MONEY = "money.csv"
OUTPUT_FILES = (MARKET_FILE, MARKET_MONEY, MARKET_TIME, MONEY)
SEPARATORS = {MARKET_FILE: ",", MARKET_MONEY: ",", MARKET_TIME: ",", MONEY: ";"}

TARGET_HEADER = "Покупательская активность"
PERIOD_HEADER = "Период"
REVENUE_HEADER = "Выручка"
MINUTES_HEADER = "минут"
PROFIT_HEADER = "Прибыль"

# Canonical labels; the export's own spellings (typos included) are fitted.
TARGET_LABELS = {"stable": "Прежний уровень", "declined": "Снизилась"}
PERIODS = ("препредыдущий_месяц", "предыдущий_месяц", "текущий_месяц")
TIME_PERIODS = PERIODS[1:]
KNOWN_LEVELS = {"service": ("премиум", "стандарт"), "messages": ("да", "нет")}
CLASSES = ("stable", "declined")


@dataclass(frozen=True)
class Column:
    """One value of a customer's vector: where it lives in the export and how it is written.

    ``style`` is the number formatting of the export: ``fixed`` always shows
    ``decimals`` digits (``4472.0``), ``short`` drops trailing zeros but keeps
    one digit (``0.3``, ``0.0``), ``bare`` drops them and the separator too
    (``4``, ``4,1``).
    """

    key: str
    header: str
    decimals: int = 0
    categorical: bool = False
    style: str = "fixed"
    decimal_sep: str = "."


COLUMNS = (
    Column("service", "Тип сервиса", categorical=True),
    Column("messages", "Разрешить сообщать", categorical=True),
    Column("marketing_6m", "Маркет_актив_6_мес", decimals=1),
    Column("marketing_current", "Маркет_актив_тек_мес"),
    Column("tenure", "Длительность"),
    Column("promo_share", "Акционные_покупки", decimals=2, style="short"),
    Column("category", "Популярная_категория", categorical=True),
    Column("categories_per_visit", "Средний_просмотр_категорий_за_визит"),
    Column("unpaid_items", "Неоплаченные_продукты_штук_квартал"),
    Column("service_errors", "Ошибка_сервиса"),
    Column("pages_per_visit", "Страниц_за_визит"),
    Column("revenue_pre_previous", PERIODS[0], decimals=1),
    Column("revenue_previous", PERIODS[1], decimals=1),
    Column("revenue_current", PERIODS[2], decimals=1),
    Column("minutes_previous", TIME_PERIODS[0]),
    Column("minutes_current", TIME_PERIODS[1]),
    Column("profit", PROFIT_HEADER, decimals=2, style="bare", decimal_sep=","),
)
COLUMN_INDEX = {c.key: i for i, c in enumerate(COLUMNS)}
MARKET_FILE_COLUMNS = COLUMNS[:11]
REVENUE_KEYS = ("revenue_pre_previous", "revenue_previous", "revenue_current")
MINUTES_KEYS = ("minutes_previous", "minutes_current")
LABELLED_KEYS = ("target", "service", "messages", "category")

HEADERS = {
    MARKET_FILE: ("id", TARGET_HEADER, *(c.header for c in MARKET_FILE_COLUMNS)),
    MARKET_MONEY: ("id", PERIOD_HEADER, REVENUE_HEADER),
    MARKET_TIME: ("id", PERIOD_HEADER, MINUTES_HEADER),
    MONEY: ("id", PROFIT_HEADER),
}


def header_line(name: str) -> str:
    """The header of file *name* as the export writes it."""
    return SEPARATORS[name].join(HEADERS[name]) + NEWLINE
