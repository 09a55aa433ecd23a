"""A small hand-made warehouse for the report tests, and helpers to read rendered pages.

Twelve active customers (ids 101–112) and one inactive one (113), with every
table the reports read written directly (no dbt), so each figure a page
shows can be checked against a number written out here:

  customer  declined  profit  p_decline  segment                 profit at risk
  101       yes       5.0     0.90       high_risk_high_profit   4.50
  102       yes       4.5     0.80       high_risk_high_profit   3.60
  103       yes       1.0     0.70       high_risk_low_profit    0.70
  104       yes       2.0     0.60       high_risk_low_profit    1.20
  105       yes       6.0     0.55       high_risk_high_profit   3.30
  106       no        5.5     0.30       low_risk_high_profit    1.65
  107       no        1.5     0.20       low_risk_low_profit     0.30
  108       no        2.5     0.10       low_risk_low_profit     0.25
  109       no        3.0     0.65       high_risk_low_profit    1.95
  110       no        4.0     0.40       low_risk_high_profit    1.60
  111       no        0.5     0.05       low_risk_low_profit     0.025
  112       no        7.0     0.15       low_risk_high_profit    1.05

Risk threshold 0.5, profit threshold 3.5 (thousand roubles). The ml.* tables
are written by the ML step's own writer (ml/io/writer.py write_run), so the
reports are tested against the tables the ML step really writes; the dbt
relations (marts, staging, reference, segments) are written as plain tables
with the columns their yml files describe.
"""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pandas as pd
from scipy import stats

from ml.contracts.features import mart_columns
from ml.io.writer import write_run
from tests.ml_fixtures import ml_rows

IDS = list(range(101, 113))
ALL_IDS = [*IDS, 113]  # with the inactive customer 113
DECLINED = [True] * 5 + [False] * 7
PROFIT = [5.0, 4.5, 1.0, 2.0, 6.0, 5.5, 1.5, 2.5, 3.0, 4.0, 0.5, 7.0]
P_DECLINE = [0.9, 0.8, 0.7, 0.6, 0.55, 0.3, 0.2, 0.1, 0.65, 0.4, 0.05, 0.15]
RISK_THRESHOLD = 0.5
PROFIT_THRESHOLD = 3.5
KEY = "high_risk_high_profit"
COMPARISON = "low_risk_high_profit"

# Hand-chosen feature values (12 customers); other contract columns get a default.
FEATURES = {
    "service_type": ["премиум"] * 4 + ["стандарт"] * 8,
    "allow_messages": [True, True, False, True, False, True, True, True, False, True, True, True],
    "promo_purchase_share": [0.9, 0.8, 0.7, 0.6, 0.5, 0.1, 0.2, 0.3, 0.4, 0.2, 0.1, 0.3],
    "pages_per_visit": [2, 3, 4, 3, 2, 10, 9, 8, 7, 11, 12, 9],
    "tenure_days": [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200],
    "favourite_category": ["Товары для детей"] * 6 + ["Кухонная посуда"] * 6,
    "revenue_pre_previous_month": [4000.0] * 12,
    "revenue_previous_month": [4500.0] * 12,
    "revenue_current_month": [5000.0] * 12,
    "minutes_previous_month": [10] * 5 + [15] * 7,
    "minutes_current_month": [8] * 5 + [14] * 7,
}

HOSTILE = {
    "segment_name": "<script>alert('segment')</script>",
    "category": '<img src=x onerror="alert(1)">',
    "reason": '"><script>alert("reason")</script>',
    "offer": "</td><script>alert('offer')</script>",
    "family": "<svg onload=alert('family')>",
    "detail": "<iframe src='https://example.com'></iframe>",
    "run_id": "train-<b>bold</b>",
}


def _insert(con: duckdb.DuckDBPyConnection, relation: str, frame: pd.DataFrame) -> None:
    schema = relation.split(".")[0]
    con.execute(f"create schema if not exists {schema}")
    con.register("_frame", frame)
    con.execute(f"create or replace table {relation} as select * from _frame")
    con.unregister("_frame")


def _segment(i: int) -> str:
    risk = "high_risk" if P_DECLINE[i] >= RISK_THRESHOLD else "low_risk"
    profit = "high_profit" if PROFIT[i] > PROFIT_THRESHOLD else "low_profit"
    return f"{risk}_{profit}"


def _mart() -> pd.DataFrame:
    columns = mart_columns()
    data: dict[str, list] = {columns.id: IDS, columns.target: DECLINED, columns.profit: PROFIT}
    defaults = {"boolean": False, "varchar": "", "bigint": 0, "integer": 0, "double": 0.0}
    for name in columns.all:
        if name in data:
            continue
        if name in FEATURES:
            data[name] = FEATURES[name]
        elif name == columns.group:
            data[name] = IDS
        else:
            data[name] = [defaults.get(columns.data_types[name], 0)] * len(IDS)
    frame = pd.DataFrame(data)[list(columns.all)]
    frame.loc[frame[columns.id].isin([107, 108]), columns.group] = 107
    return frame


def write_ml(con: duckdb.DuckDBPyConnection, tables: dict[str, list[dict]]) -> None:
    """Write ml.* rows the way the ML step does: through ml/io/writer.py write_run."""
    write_run(con, {table: ml_rows(table, rows) for table, rows in tables.items()})


def make_warehouse(path: Path, hostile: bool = False) -> Path:
    """Write the fixture warehouse to *path*; *hostile* puts HTML/script into every label."""
    h = HOSTILE if hostile else {}
    category = h.get("category", "Товары для детей")
    run_old, run_new = "train-20260101T000000Z-aaaa", h.get("run_id", "train-20260201T000000Z-bbbb")
    mart = _mart()
    mart.loc[mart["favourite_category"] == "Товары для детей", "favourite_category"] = category
    with duckdb.connect(str(path)) as con:
        _insert(con, "marts.customer_features", mart)
        _write_audit(con, h)
        _write_staged_customers(con, mart)
        _write_staged_periods(con)
        _write_label_map(con)
        _write_feature_reasons(con)
        _write_offer_catalogue(con, h)
        _write_segments(con, h)
        _write_ml(con, h, run_old, run_new)
    return path


def _write_audit(con: duckdb.DuckDBPyConnection, h: dict) -> None:
    """marts.customer_audit: two zero-revenue months of 113, one replaced revenue, one twin pair."""
    _insert(
        con,
        "marts.customer_audit",
        pd.DataFrame(
            {
                "customer_id": [113, 113, 104, 107, 108],
                "reason": ["inactive_zero_revenue"] * 2
                + ["implausible_revenue", "possible_duplicate", "possible_duplicate"],
                "action": ["excluded", "excluded", "replaced", "flagged", "flagged"],
                "source_file": ["market_money.csv"] * 3 + ["market_file.csv"] * 2,
                "source_line": [38, 39, 12, 8, 9],
                "period": ["pre_previous_month", "previous_month", "current_month", None, None],
                "raw_value": [0.0, 0.0, 99999.0, None, None],
                "robust_value": [None, None, 5000.0, None, None],
                "duplicate_group_id": [None, None, None, 107, 107],
                "detail": [
                    "zero revenue",
                    "zero revenue",
                    h.get("detail", "too high"),
                    "twin of 108",
                    "twin of 107",
                ],
                "audited_at": pd.Timestamp("2026-02-01 00:00:00"),
            }
        ),
    )


def _write_staged_customers(con: duckdb.DuckDBPyConnection, mart: pd.DataFrame) -> None:
    """The staged customers (two misspelt «стандартт») and their profits."""
    service_raw = ["премиум"] * 4 + ["стандартт", "стандартт"] + ["стандарт"] * 7
    _insert(
        con,
        "staging.stg_shop_export__customers",
        pd.DataFrame(
            {
                "customer_id": ALL_IDS,
                "service_type": ["премиум"] * 4 + ["стандарт"] * 9,
                "service_type_raw": service_raw,
                "favourite_category": [*list(mart["favourite_category"]), "Кухонная посуда"],
                "favourite_category_raw": [
                    *list(mart["favourite_category"]),
                    "Кухонная посуда",
                ],
                "activity_label_raw": ["Снизилась"] * 5 + ["Прежний уровень"] * 8,
                "allow_messages_raw": ["да"] * 13,
                "source_file": "market_file.csv",
                "source_line": list(range(2, 15)),
            }
        ),
    )
    _insert(
        con,
        "staging.stg_shop_export__profits",
        pd.DataFrame(
            {
                "customer_id": ALL_IDS,
                "profit": [*PROFIT, 1.0],
                "source_file": "money.csv",
                "source_line": list(range(2, 15)),
            }
        ),
    )


def _staged_period_rows(
    rows: list[tuple], value: str, period_raw: dict[str, str], source_file: str
) -> pd.DataFrame:
    """A staged per-period table from (customer_id, period, *value*) rows, each with the
    raw period label it was read as and its line in *source_file*."""
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "period": [r[1] for r in rows],
            value: [r[2] for r in rows],
            "period_raw": [period_raw[r[1]] for r in rows],
            "source_file": source_file,
            "source_line": list(range(2, 2 + len(rows))),
        }
    )


def _write_staged_periods(con: duckdb.DuckDBPyConnection) -> None:
    """Staged monthly revenue (104's current month implausible) and minutes
    (one misspelt period)."""
    periods = ["pre_previous_month", "previous_month", "current_month"]
    revenue = {"pre_previous_month": 4000.0, "previous_month": 4500.0, "current_month": 5000.0}
    rev_rows = [
        (
            cid,
            period,
            99999.0
            if (cid, period) == (104, "current_month")
            else (0.0 if cid == 113 and period != "current_month" else revenue[period]),
        )
        for cid in ALL_IDS
        for period in periods
    ]
    revenue_raw = {
        "pre_previous_month": "препредыдущий_месяц",
        "previous_month": "предыдущий_месяц",
        "current_month": "текущий_месяц",
    }
    _insert(
        con,
        "staging.stg_shop_export__monthly_revenues",
        _staged_period_rows(rev_rows, "revenue", revenue_raw, "market_money.csv"),
    )
    minutes = {cid: (10, 8) if cid <= 105 else (15, 14) for cid in ALL_IDS}
    min_rows = [
        (cid, period, minutes[cid][k])
        for cid in ALL_IDS
        for k, period in enumerate(["previous_month", "current_month"])
    ]
    # the misspelt previous month that reference.label_map maps back
    minutes_raw = {"previous_month": "предыдцщий_месяц", "current_month": "текущий_месяц"}
    _insert(
        con,
        "staging.stg_shop_export__monthly_minutes",
        _staged_period_rows(min_rows, "minutes", minutes_raw, "market_time.csv"),
    )


def _write_label_map(con: duckdb.DuckDBPyConnection) -> None:
    """reference.label_map: each raw spelling and its canonical label."""
    _insert(
        con,
        "reference.label_map",
        pd.DataFrame(
            [
                ("activity", "Снизилась", "declined"),
                ("activity", "Прежний уровень", "same_level"),
                ("service_type", "стандарт", "стандарт"),
                ("service_type", "стандартт", "стандарт"),
                ("service_type", "премиум", "премиум"),
                ("allow_messages", "да", "да"),
                ("allow_messages", "нет", "нет"),
                ("favourite_category", "Товары для детей", "Товары для детей"),
                ("favourite_category", "Кухонная посуда", "Кухонная посуда"),
                ("period", "препредыдущий_месяц", "pre_previous_month"),
                ("period", "предыдущий_месяц", "previous_month"),
                ("period", "предыдцщий_месяц", "previous_month"),
                ("period", "текущий_месяц", "current_month"),
            ],
            columns=["field", "raw_label", "canonical_label"],
        ),
    )


def _write_feature_reasons(con: duckdb.DuckDBPyConnection) -> None:
    """reference.feature_reasons: the reasons dbt writes, in both languages."""
    _insert(
        con,
        "reference.feature_reasons",
        pd.DataFrame(
            [
                (
                    "promo_purchase_share",
                    "high",
                    "buys mostly on promotion",
                    "покупает в основном по акциям",
                ),
                (
                    "pages_per_visit",
                    "low",
                    "views few pages per visit",
                    "смотрит мало страниц за визит",
                ),
                (
                    "favourite_category",
                    "*",
                    "favourite category «{value}»",
                    "любимая категория «{value}»",
                ),
            ],
            columns=["feature", "level", "reason_en", "reason_ru"],
        ),
    )


def _write_offer_catalogue(con: duckdb.DuckDBPyConnection, h: dict) -> None:
    """reference.offer_catalogue: two offers, one per driver."""
    _insert(
        con,
        "reference.offer_catalogue",
        pd.DataFrame(
            [
                (
                    "loyalty_cashback_email",
                    "promo_purchase_share",
                    "high",
                    "email",
                    1,
                    h.get("offer", "Loyalty cashback"),
                    "Кешбэк программы лояльности",
                ),
                (
                    "personal_recommendations_site",
                    "pages_per_visit",
                    "low",
                    "site",
                    1,
                    "Personal recommendations",
                    "Персональные рекомендации",
                ),
            ],
            columns=[
                "offer_code",
                "driver",
                "driver_level",
                "channel",
                "priority",
                "offer_en",
                "offer_ru",
            ],
        ),
    )


def _key_profile() -> pd.DataFrame:
    """segments.key_segment_profile as dbt wrote it: the key segment against the comparison."""
    return pd.DataFrame(
        {
            "key_segment": KEY,
            "comparison_segment": COMPARISON,
            "feature": ["promo_purchase_share", "pages_per_visit", "tenure_days"],
            "key_n": 3,
            "key_mean": [0.7333, 2.3333, 266.6667],
            "key_std": [0.2082, 0.5774, 208.1666],
            "comparison_n": 3,
            "comparison_mean": [0.2, 10.6667, 933.3333],
            "comparison_std": [0.1, 1.5275, 305.5050],
            "difference": [0.5333, -8.3333, -666.6667],
            "relative_difference": [2.6667, -0.78125, -0.7143],
            "standardized_difference": [3.27, -7.21, -2.55],
            "welch_t": [4.0, -8.8, -1.5],
            "welch_df": [3.1, 2.5, 3.6],
            "p_value": [0.027, 0.018, 0.22],
            "is_significant": [True, True, False],
            "difference_rank": [2, 1, 3],
        }
    )


def _segment_feature_profile(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """segments.segment_feature_profile as dbt builds it, recomputed from the fixture's
    mart and segments (each segment against the other customers; scipy's Welch test)."""
    columns = mart_columns()
    booleans = [c for c in columns.categorical if columns.data_types.get(c) == "boolean"]
    mart = con.execute(
        "select f.*, s.segment as _segment from marts.customer_features as f"
        " left join segments.customer_segments as s using (customer_id)"
    ).df()
    rows = []
    for segment in sorted(set(mart["_segment"].dropna())):
        inside = mart["_segment"] == segment
        for feature in [*columns.numeric, *booleans]:
            a = mart.loc[inside, feature].astype(float)
            b = mart.loc[~inside, feature].astype(float)
            v_a, v_b = a.var(ddof=1), b.var(ddof=1)
            s_a, s_b = v_a / len(a), v_b / len(b)  # squared standard errors
            se2 = s_a + s_b
            t = df = p = math.nan
            if se2 > 0:
                t = (a.mean() - b.mean()) / math.sqrt(se2)
                df = se2**2 / (s_a**2 / (len(a) - 1) + s_b**2 / (len(b) - 1))
                p = float(2 * stats.t.sf(abs(t), df))
            pooled = math.sqrt((v_a + v_b) / 2)
            rows.append(
                {
                    "segment": segment,
                    "feature": feature,
                    "n": len(a),
                    "mean": a.mean(),
                    "std": math.sqrt(v_a),
                    "comparison_n": len(b),
                    "comparison_mean": b.mean(),
                    "comparison_std": math.sqrt(v_b),
                    "difference": a.mean() - b.mean(),
                    "relative_difference": (a.mean() - b.mean()) / abs(b.mean())
                    if b.mean()
                    else math.nan,
                    "standardized_difference": (a.mean() - b.mean()) / pooled
                    if pooled
                    else math.nan,
                    "welch_t": t,
                    "welch_df": df,
                    "p_value": p,
                    "is_significant": bool(p < 0.05),
                }
            )
    profile = pd.DataFrame(rows)
    size = profile["standardized_difference"].abs().fillna(0)
    profile = profile.assign(_size=-size).sort_values(["segment", "_size", "feature"])
    profile["difference_rank"] = profile.groupby("segment").cumcount() + 1
    return profile.drop(columns="_size").reset_index(drop=True)


def _write_segments(con: duckdb.DuckDBPyConnection, h: dict) -> None:
    """segments.*: each customer's segment, the summary dbt would build, key profile, offers."""
    _insert(con, "segments.customer_segments", _customer_segments(h))
    con.execute(
        """
        create or replace table segments.segment_summary as
        select s.segment, any_value(s.segment_name) as segment_name,
               any_value(s.segment_name_ru) as segment_name_ru,
               any_value(s.risk_band) as risk_band, any_value(s.profit_band) as profit_band,
               count(*) as n_customers, count(*) / 12.0 as customer_share,
               avg(s.p_decline) as mean_p_decline, sum(s.profit) as total_profit,
               avg(s.profit) as mean_profit, sum(s.profit_at_risk) as total_profit_at_risk,
               avg(cast(s.allow_messages as integer)) as share_allowing_messages,
               avg(f.promo_purchase_share) as mean_promo_purchase_share,
               bool_or(s.is_key_segment) as is_key_segment
        from segments.customer_segments as s
        join marts.customer_features as f using (customer_id)
        group by s.segment
        """
    )
    _insert(con, "segments.segment_feature_profile", _segment_feature_profile(con))
    _insert(con, "segments.key_segment_profile", _key_profile())
    _insert(con, "segments.customer_recommendations", _recommendations(h))


def _customer_segments(h: dict) -> pd.DataFrame:
    """segments.customer_segments: the table of the module docstring."""
    names = {
        "high_risk_high_profit": (
            h.get("segment_name", "At risk and profitable"),
            "Под угрозой и прибыльные",
        ),
        "high_risk_low_profit": ("At risk and less profitable", "Под угрозой и менее прибыльные"),
        "low_risk_high_profit": ("Stable and profitable", "Стабильные и прибыльные"),
        "low_risk_low_profit": ("Stable and less profitable", "Стабильные и менее прибыльные"),
    }
    reason_1 = h.get("reason", "buys mostly on promotion")
    category = h.get("category", "Товары для детей")
    segments = pd.DataFrame(
        {
            "customer_id": IDS,
            "p_decline": P_DECLINE,
            "risk_band": [_segment(i).rsplit("_", 2)[0] + "_risk" for i in range(12)],
            "profit": PROFIT,
            "profit_band": [_segment(i).split("_", 2)[2] for i in range(12)],
            "segment": [_segment(i) for i in range(12)],
            "segment_name": [names[_segment(i)][0] for i in range(12)],
            "segment_name_ru": [names[_segment(i)][1] for i in range(12)],
            "is_key_segment": [_segment(i) == KEY for i in range(12)],
            "profit_at_risk": [p * q for p, q in zip(P_DECLINE, PROFIT, strict=True)],
            "reason_1": [reason_1] * 12,
            "reason_2": ["views few pages per visit"] * 12,
            "reason_3": [f"favourite category «{category}»"] * 12,
            "allow_messages": FEATURES["allow_messages"],
            "risk_threshold": RISK_THRESHOLD,
            "profit_threshold": PROFIT_THRESHOLD,
            "run_id": "train-20260201T000000Z-bbbb",
        }
    )
    return segments


def _recommendations(h: dict) -> pd.DataFrame:
    """segments.customer_recommendations: offers of customers 101, 102 and 103."""
    return pd.DataFrame(
        {
            "customer_id": [101, 101, 102, 103],
            "offer_rank": [1, 2, 1, 1],
            "segment": [KEY, KEY, KEY, "high_risk_low_profit"],
            "p_decline": [0.9, 0.9, 0.8, 0.7],
            "profit_at_risk": [4.5, 4.5, 3.6, 0.7],
            "driver": [
                "promo_purchase_share",
                "pages_per_visit",
                "pages_per_visit",
                "promo_purchase_share",
            ],
            "driver_level": ["high", "low", "low", "high"],
            "driver_value": ["0.9", "2", "3", "0.7"],
            "driver_shap_value": [0.3, 0.2, 0.25, 0.1],
            "reason": [
                "buys mostly on promotion",
                "views few pages per visit",
                "views few pages per visit",
                "buys mostly on promotion",
            ],
            "offer_code": [
                "loyalty_cashback_email",
                "personal_recommendations_site",
                "personal_recommendations_site",
                "loyalty_cashback_email",
            ],
            "offer": [
                h.get("offer", "Loyalty cashback"),
                "Personal recommendations",
                "Personal recommendations",
                h.get("offer", "Loyalty cashback"),
            ],
            "channel": ["email", "site", "site", "email"],
            "allow_messages": [True, True, True, False],
            "run_id": "train-20260201T000000Z-bbbb",
        }
    )


def _write_ml(con: duckdb.DuckDBPyConnection, h: dict, run_old: str, run_new: str) -> None:
    """ml.*: an older run with a run row and one candidate, and the newest run with everything."""
    family = h.get("family", "logreg")
    write_ml(
        con,
        {
            "model_runs": _model_runs(family, run_old, run_new),
            "model_candidates": _candidates(family, run_old, run_new),
            "predictions": _predictions(run_new),
            "shap_values": _shap_values(run_new),
            "feature_importance": _importance(run_new),
            "evaluation_curves": _curves(run_new),
        },
    )


def _model_runs(family: str, run_old: str, run_new: str) -> list[dict]:
    """ml.model_runs rows of both runs."""
    runs = [
        {
            "run_id": run_old,
            "run_kind": "train",
            "started_at": pd.Timestamp("2026-01-01 00:00:00"),
            "model_family": "hist_gb",
            "holdout_roc_auc": 0.7001,
            "threshold": 0.45,
            "data_fingerprint": "f" * 64,
            "n_customers": 12,
        },
        {
            "run_id": run_new,
            "run_kind": "train",
            "started_at": pd.Timestamp("2026-02-01 00:00:00"),
            "duration_s": 42.0,
            "n_customers": 12,
            "n_declined": 5,
            "data_fingerprint": "ab12" * 16,
            "code_version": "v1.2.3-dirty",
            "library_versions": '{"python": "3.11.7", "scikit-learn": "1.9.1"}',
            "seed": 42,
            "model_family": family,
            "model_params": '{"C": 0.3, "l1_ratio": 0.5}',
            "cv_scheme": "stratified group 5-fold x 3",
            "cv_roc_auc_mean": 0.8123,
            "cv_roc_auc_std": 0.0345,
            "holdout_size": 3,
            "holdout_roc_auc": 0.7891,
            "holdout_brier": 0.1789,
            "oof_roc_auc": 0.8012,
            "brier": 0.1567,
            "threshold_rule": "f1",
            "threshold": 0.5,
            "oof_tp": 4,
            "oof_fp": 2,
            "oof_tn": 5,
            "oof_fn": 1,
            "holdout_tp": 1,
            "holdout_fp": 1,
            "holdout_tn": 1,
            "holdout_fn": 0,
            "shap_method": "linear",
            "shap_output_space": "log_odds",
        },
    ]
    return runs


def _candidates(family: str, run_old: str, run_new: str) -> list[dict]:
    """ml.model_candidates: three families of the new run, one of the old."""
    candidates = [
        {
            "run_id": run_new,
            "family": family,
            "cv_roc_auc_mean": 0.8123,
            "cv_roc_auc_std": 0.0345,
            "fit_time_s": 0.12,
            "n_configs": 6,
            "best_params": '{"C": 0.3}',
            "cv_rank": 1,
            "is_selected": True,
        },
        {
            "run_id": run_new,
            "family": "hist_gb",
            "cv_roc_auc_mean": 0.795,
            "cv_roc_auc_std": 0.04,
            "fit_time_s": 1.5,
            "n_configs": 6,
            "cv_rank": 2,
            "is_selected": False,
        },
        {
            "run_id": run_new,
            "family": "dummy",
            "cv_roc_auc_mean": 0.5,
            "cv_roc_auc_std": 0.0,
            "fit_time_s": 0.01,
            "n_configs": 1,
            "cv_rank": 3,
            "is_selected": False,
        },
        {
            "run_id": run_old,
            "family": "hist_gb",
            "cv_roc_auc_mean": 0.7,
            "cv_roc_auc_std": 0.05,
            "fit_time_s": 1.0,
            "n_configs": 2,
            "cv_rank": 1,
            "is_selected": True,
        },
    ]
    return candidates


def _predictions(run_new: str) -> list[dict]:
    """ml.predictions: P_DECLINE, labelled at the risk threshold; 110–112 held out."""
    predictions = [
        {
            "run_id": run_new,
            "customer_id": cid,
            "p_decline": p,
            "predicted_decline": p >= RISK_THRESHOLD,
            "is_holdout": cid in (110, 111, 112),
        }
        for cid, p in zip(IDS, P_DECLINE, strict=True)
    ]
    return predictions


def _shap_values(run_new: str) -> list[dict]:
    """ml.shap_values: two numeric features and a categorical one per customer."""
    shap = []
    for i, cid in enumerate(IDS):
        shap.append(
            {
                "run_id": run_new,
                "customer_id": cid,
                "feature": "promo_purchase_share",
                "shap_value": FEATURES["promo_purchase_share"][i] - 0.4,
                "feature_value_num": FEATURES["promo_purchase_share"][i],
            }
        )
        shap.append(
            {
                "run_id": run_new,
                "customer_id": cid,
                "feature": "pages_per_visit",
                "shap_value": (6 - FEATURES["pages_per_visit"][i]) / 20,
                "feature_value_num": float(FEATURES["pages_per_visit"][i]),
            }
        )
        shap.append(
            {
                "run_id": run_new,
                "customer_id": cid,
                "feature": "favourite_category",
                "shap_value": 0.05 if i < 6 else -0.05,
                "feature_value_num": None,
            }
        )
    return shap


def _importance(run_new: str) -> list[dict]:
    """ml.feature_importance of the three features."""
    importance = [
        {
            "run_id": run_new,
            "feature": "promo_purchase_share",
            "shap_mean_abs": 0.3,
            "permutation_mean": 0.1,
            "permutation_std": 0.02,
        },
        {
            "run_id": run_new,
            "feature": "pages_per_visit",
            "shap_mean_abs": 0.2,
            "permutation_mean": 0.08,
            "permutation_std": 0.01,
        },
        {
            "run_id": run_new,
            "feature": "favourite_category",
            "shap_mean_abs": 0.05,
            "permutation_mean": 0.0,
            "permutation_std": 0.0,
        },
    ]
    return importance


def _curves(run_new: str) -> list[dict]:
    """ml.evaluation_curves: ROC, PR and calibration points of both datasets."""
    curves = []
    for dataset in ("oof", "holdout"):
        for curve, points in {
            "roc": [(0.0, 0.0, None), (0.2, 0.6, None), (1.0, 1.0, None)],
            "pr": [(0.0, 1.0, None), (0.8, 0.667, None), (1.0, 0.42, None)],
            "calibration": [(0.2, 0.1, 6), (0.7, 0.8, 6)],
        }.items():
            for k, (x, y, count) in enumerate(points):
                curves.append(
                    {
                        "run_id": run_new,
                        "dataset": dataset,
                        "curve": curve,
                        "point_index": k,
                        "x": x,
                        "y": y,
                        "threshold": None,
                        "bin_count": count,
                    }
                )
    return curves


# --- Reading rendered pages -------------------------------------------------------------------


def _squeeze(text: str) -> str:
    """Fold markup whitespace only: the non-breaking spaces of Russian numbers are content."""
    return re.sub(r"[ \t\n\r\f]+", " ", text).strip()


class _Tables(HTMLParser):
    """Collect the text of every cell of every table with an id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self.elements: dict[str, str] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._open_ids: list[tuple[str, str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self._open_ids.append((tag, attributes["id"], []))
        if tag == "table" and attributes.get("id"):
            self._table = attributes["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if self._open_ids and self._open_ids[-1][0] == tag:
            _, element_id, parts = self._open_ids.pop()
            self.elements[element_id] = _squeeze("".join(parts))
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(_squeeze("".join(self._cell)))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        for _, _, parts in self._open_ids:
            parts.append(data)


def table_rows(html: str, table_id: str) -> list[list[str]]:
    """Cell texts of the table with *table_id*, header row first."""
    parser = _Tables()
    parser.feed(html)
    return parser.tables[table_id]


def element_text(html: str, element_id: str) -> str:
    """Whitespace-normalised text inside the element with *element_id*."""
    parser = _Tables()
    parser.feed(html)
    return parser.elements[element_id]
