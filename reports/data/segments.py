"""The segments.* models as the segment pages show them: listed customers, sizes, map
points, thresholds, offer counts and the feature profiles of segments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import duckdb
import pandas as pd

from reports.config import DEFAULT_LIMITS, Limits
from reports.data.warehouse import (
    evenly_spaced,
    has_table,
    none_if_na,
    query,
)


@dataclass
class SegmentData:
    """The segments.* models, as far as the pages show them (read_segments)."""

    summary: pd.DataFrame
    # The listed customers: per segment at most Limits.segment_customers, largest
    # profit at risk first; with their recommendations.
    customers: pd.DataFrame
    recommendations: pd.DataFrame
    sizes: dict[str, int]  # segment -> customers in segments.customer_segments
    map_points: pd.DataFrame  # customer_id, segment, p_decline, profit (thinned evenly)
    risk_threshold: float | None
    profit_threshold: float | None
    key_profile: pd.DataFrame
    # Each segment key_profile does not cover against all other customers
    # (segments.segment_feature_profile): segment, feature, n, mean, std,
    # comparison_n, …, welch_t, p_value, is_significant, difference_rank.
    moments: pd.DataFrame
    offers_by_channel: pd.DataFrame  # segment, channel, n_offers, n_customers
    offers_by_code: pd.DataFrame  # segment, offer_code, channel, driver, offer, n_customers


# A segment's customers by profit at risk, largest first (ties: lowest id): the
# order of the segment page's list, and so of which customers it lists.
_BY_PROFIT_AT_RISK = "profit_at_risk desc nulls last, customer_id"


def read_segment_customers(
    con: duckdb.DuckDBPyConnection, per_segment: int = DEFAULT_LIMITS.segment_customers
) -> pd.DataFrame:
    """The customers the segment pages list: per segment the *per_segment* with the
    largest profit at risk, all segments together in that order.

    The ranking reads only the columns it orders by; the other columns (the
    reasons are long texts) are fetched for the chosen customers alone, which
    keeps DuckDB's memory at a million customers to a fraction.
    """
    return query(
        con,
        f"""
        select * exclude (risk_threshold), cast(risk_threshold as double) as risk_threshold
        from segments.customer_segments
        where customer_id in (
            select customer_id from segments.customer_segments
            qualify row_number() over (partition by segment order by {_BY_PROFIT_AT_RISK}) <= ?
        )
        order by {_BY_PROFIT_AT_RISK}
        """,
        [per_segment],
    )


def read_recommendations_of(
    con: duckdb.DuckDBPyConnection, customer_ids: Iterable[int]
) -> pd.DataFrame:
    """The offers of *customer_ids* (those a segment page lists; the others are not shown)."""
    if not has_table(con, "segments", "customer_recommendations"):
        return pd.DataFrame()
    return query(
        con,
        "select * from segments.customer_recommendations "
        "where customer_id in (select unnest(?)) "
        f"order by {_BY_PROFIT_AT_RISK}, offer_rank",
        [[int(c) for c in customer_ids]],
    )


def read_segment_sizes(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Customers per segment in segments.customer_segments."""
    frame = query(con, "select segment, count(*) as n from segments.customer_segments group by 1")
    return {str(k): int(n) for k, n in zip(frame["segment"], frame["n"], strict=True)}


def read_segment_map(
    con: duckdb.DuckDBPyConnection, limit: int = DEFAULT_LIMITS.map_points
) -> pd.DataFrame:
    """The segment map's points: at most *limit* customers, evenly spaced in id order."""
    points, _ = evenly_spaced(
        con,
        "select customer_id, segment, p_decline, profit from segments.customer_segments",
        [],
        order_by="customer_id",
        limit=limit,
    )
    return points


def read_thresholds(con: duckdb.DuckDBPyConnection) -> tuple[float | None, float | None]:
    """The risk and profit thresholds the segments were cut at (the same on every row)."""
    rows = con.execute(
        "select cast(risk_threshold as double), cast(profit_threshold as double) "
        f"from segments.customer_segments order by {_BY_PROFIT_AT_RISK} limit 1"
    ).fetchall()
    if not rows:
        return None, None
    risk, profit = rows[0]
    return none_if_na(risk), none_if_na(profit)  # type: ignore[return-value]


def read_offer_counts(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Offers of every segment counted over all its customers, (by channel, by offer).

    By channel: segment, channel, n_offers, n_customers; most offers first.
    By offer: segment, offer_code, channel, driver, n_customers, offer (the
    text dbt wrote, of the offer's first customer by profit at risk); most
    customers first.
    """
    if not has_table(con, "segments", "customer_recommendations"):
        return (
            pd.DataFrame(columns=["segment", "channel", "n_offers", "n_customers"]),
            pd.DataFrame(
                columns=["segment", "offer_code", "channel", "driver", "n_customers", "offer"]
            ),
        )
    by_channel = query(
        con,
        """
        select segment, channel, count(offer_code) as n_offers,
               count(distinct customer_id) as n_customers
        from segments.customer_recommendations
        group by segment, channel
        order by segment, n_offers desc, channel
        """,
    )
    by_code = query(
        con,
        f"""
        select segment, offer_code, channel, driver,
               count(distinct customer_id) as n_customers,
               first(offer order by {_BY_PROFIT_AT_RISK}, offer_rank) as offer
        from segments.customer_recommendations
        group by segment, offer_code, channel, driver
        order by segment, n_customers desc, offer_code
        """,
    )
    return by_channel, by_code


def read_segment_profiles(con: duckdb.DuckDBPyConnection, segments: list[str]) -> pd.DataFrame:
    """Rows of dbt model segments.segment_feature_profile for *segments*: each against
    all other customers, feature by feature, with Welch's test; in difference_rank order.
    """
    return query(
        con,
        """
        select * from segments.segment_feature_profile
        where list_contains(?, segment)
        order by segment, difference_rank
        """,
        [list(segments)],
    )


def read_segments(
    con: duckdb.DuckDBPyConnection, limits: Limits = DEFAULT_LIMITS
) -> SegmentData | None:
    """The segments.* models as the pages show them, or None before the first ML run
    built them: per segment its listed customers, sizes, map points and offer counts."""
    needed = (
        "segment_summary",
        "customer_segments",
        "key_segment_profile",
        "segment_feature_profile",
    )
    if not all(has_table(con, "segments", t) for t in needed):
        return None
    summary = query(
        con,
        "select * from segments.segment_summary "
        "order by is_key_segment desc, risk_band, profit_band, segment",
    )
    key_profile = query(con, "select * from segments.key_segment_profile order by difference_rank")
    profiled = set(key_profile["key_segment"]) if "key_segment" in key_profile else set()
    unprofiled = [s for s in summary["segment"] if s not in profiled]
    risk_threshold, profit_threshold = read_thresholds(con)
    by_channel, by_code = read_offer_counts(con)
    customers = read_segment_customers(con, limits.segment_customers)
    return SegmentData(
        summary=summary,
        customers=customers,
        recommendations=read_recommendations_of(con, customers["customer_id"]),
        sizes=read_segment_sizes(con),
        map_points=read_segment_map(con, limits.map_points),
        risk_threshold=risk_threshold,
        profit_threshold=profit_threshold,
        key_profile=key_profile,
        moments=read_segment_profiles(con, unprofiled),
        offers_by_channel=by_channel,
        offers_by_code=by_code,
    )
