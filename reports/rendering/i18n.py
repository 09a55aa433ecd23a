"""Message catalogues and locale-aware number formatting for the reports.

Every word a page shows comes from `reports/rendering/messages/<lang>.json`, so the
English and Russian sites differ only in the catalogue they load. Numbers are
formatted here, once, with the language's separators (Babel's locale data): a
manager in the shop reads «1 234,5», an English reader «1,234.5»; money amounts get the unit
the shop set (reports/config.py `MoneyUnits`), none by default.
"""

from __future__ import annotations

import json
import math
import string
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale
from babel.numbers import format_decimal
from markupsafe import Markup

from reports.config import MoneyUnits

MESSAGES_DIR = Path(__file__).resolve().parent / "messages"
LANGUAGES = ("en", "ru")
DEFAULT_LANGUAGE = "en"
MISSING = "—"
# U+2212 reads as a minus in both languages; a hyphen looks like a dash in tables.
MINUS = "\u2212"


# Units whose text is the shop's setting, not a catalogue message.
MONEY = ("revenue", "profit")


# Display hints: which unit a mart column is measured in (see the column
# descriptions in dbt_project/models/marts/_marts__models.yml). A column not
# listed here is shown as a plain number, so a new column never breaks a page.
FEATURE_UNITS: dict[str, str] = {
    "revenue_pre_previous_month": "revenue",
    "revenue_previous_month": "revenue",
    "revenue_current_month": "revenue",
    "profit": "profit",
    "tenure_days": "days",
    "minutes_previous_month": "min",
    "minutes_current_month": "min",
    "promo_purchase_share": "share",
    "allow_messages": "share",  # as a mean over customers: the share allowing messages
    "p_decline": "share",
}


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def format_number(value: object, decimals: int = 0, lang: str = DEFAULT_LANGUAGE) -> str:
    """*value* rounded to *decimals* places with the language's separators; '—' when missing.

    Separators come from the locale data (CLDR, through Babel): «1,234.5» in
    English, «1 234,5» with a non-breaking space in Russian. The sign is ours:
    a value that rounds to zero gets none (no «−0»), a negative one U+2212
    (infinity is the locale's «∞»).
    The exact binary value is rounded (Decimal of the float), half to even,
    as Python's own formatting does.
    """
    if _is_missing(value):
        return MISSING
    number = float(value)  # type: ignore[arg-type]
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    text = format_decimal(Decimal(abs(number)), format=pattern, locale=lang)
    rounds_to_zero = math.isfinite(number) and not any(ch in "123456789" for ch in text)
    return (MINUS if number < 0 and not rounds_to_zero else "") + text


def format_percent(value: object, decimals: int = 1, lang: str = DEFAULT_LANGUAGE) -> str:
    """A fraction (0.123) as a percentage ('12.3%' / '12,3 %'): where the sign goes and
    the space before it are the locale's (CLDR percent pattern)."""
    if _is_missing(value):
        return MISSING
    number = format_number(float(value) * 100, decimals, lang)  # type: ignore[arg-type]
    pattern = Locale.parse(lang).percent_formats[None]
    return pattern.prefix[0] + number + pattern.suffix[0]


def format_p_value(value: object, lang: str = DEFAULT_LANGUAGE) -> str:
    """A p-value as analysts write it: '< 0.001' below one in a thousand, else 3 decimals."""
    if _is_missing(value):
        return MISSING
    if float(value) < 0.001:  # type: ignore[arg-type]
        return "< " + format_number(0.001, 3, lang)
    return format_number(value, 3, lang)


def placeholders(template: str) -> set[str]:
    """Names of the {placeholders} of a message (to check catalogues agree)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@cache
def load_catalogue(lang: str) -> Mapping[str, str]:
    """The messages of *lang* (read once per process)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: use one of {', '.join(LANGUAGES)}")
    path = MESSAGES_DIR / f"{lang}.json"
    return json.loads(path.read_text(encoding="utf-8"))


class Messages:
    """Translate message keys and format numbers for one language.

    Messages are trusted markup from the catalogue; every value substituted
    into them is escaped (``Markup.format``), so data can never inject HTML.
    """

    def __init__(
        self,
        lang: str = DEFAULT_LANGUAGE,
        texts: Mapping[str, str] | None = None,
        money: MoneyUnits | None = None,
    ):
        self.lang = lang
        self.texts = texts if texts is not None else load_catalogue(lang)
        self.money = money or MoneyUnits()

    def has(self, key: str) -> bool:
        return key in self.texts

    def __call__(self, key: str, /, **params: object) -> Markup:
        """The message *key* with *params* escaped into it; a missing key is an error."""
        try:
            template = self.texts[key]
        except KeyError:
            raise KeyError(f"message {key!r} is missing from the {self.lang} catalogue") from None
        return Markup(template).format(**params)

    def text(self, key: str, /, **params: object) -> str:
        """The message as plain text, for SVG <title>, <desc> and labels, which escape it
        themselves. (Not Markup.striptags: it would fold the non-breaking spaces.)"""
        return self(key, **params).unescape()

    def label(self, prefix: str, code: object) -> str:
        """Display name of a code (feature, channel, reason…), the code itself when unknown."""
        key = f"{prefix}.{code}"
        return self.text(key) if key in self.texts else str(code)

    # Number formats, bound to the language -------------------------------------------------

    def number(self, value: object, decimals: int = 0) -> str:
        return format_number(value, decimals, self.lang)

    def percent(self, value: object, decimals: int = 1) -> str:
        return format_percent(value, decimals, self.lang)

    def p_value(self, value: object) -> str:
        return format_p_value(value, self.lang)

    def unit(self, value: object, unit: str, decimals: int = 1) -> str:
        """*value* with its unit: revenue, profit (the set money units), days, min, s, share."""
        if _is_missing(value):
            return MISSING
        if unit == "share":
            return self.percent(value, decimals)
        number = self.number(value, decimals)
        if unit in MONEY:
            suffix = getattr(self.money, unit)
            return f"{number} {suffix}" if suffix else number
        key = f"unit.{unit}"
        return self.text(key, value=number) if key in self.texts else number

    def with_money_unit(self, label: str, kind: str) -> str:
        """An axis or column label followed by the money unit of *kind*, when one is set."""
        suffix = getattr(self.money, kind)
        return f"{label}, {suffix}" if suffix else label

    def feature_value(self, value: object, feature: str, decimals: int = 1) -> str:
        """A value of mart column *feature* in that column's unit."""
        return self.unit(value, FEATURE_UNITS.get(feature, "plain"), decimals)

    def feature(self, name: str) -> str:
        """Display name of a mart column."""
        return self.label("feature", name)
