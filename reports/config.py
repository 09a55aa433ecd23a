"""Settings of the reports: every size limit, and the units money is printed in.

A page is read in a browser and its figures are computed in this process, so
neither may grow with the number of customers. Each limit is generous enough
that the shop's real export (about 1 300 customers) stays below it: there the
pages show everything. Above a limit a page shows a stated part, chosen by a
deterministic rule (the same warehouse always renders the same bytes), and
says so, naming the warehouse table that holds the rest.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

# Seed of the random sample of customers the exploratory statistics use
# (numpy.random.default_rng); fixed, so a page can be reproduced.
SAMPLE_SEED = 20240601


@dataclass(frozen=True)
class Limits:
    """The caps applied while reading the warehouse (tests lower them to stay small)."""

    # Customers listed on a segment page: those with the largest profit at risk.
    # The rest are in segments.customer_segments / segments.customer_recommendations.
    segment_customers: int = 1_000
    # Customers the exploratory statistics, histograms and associations are
    # computed on: a simple random sample without replacement (SAMPLE_SEED)
    # when the mart has more. Counts and per-period means use every customer.
    eda_sample: int = 50_000
    eda_sample_seed: int = SAMPLE_SEED
    # Dots per feature in the SHAP beeswarm and points in the segment map:
    # beyond these the page gets heavy without showing more. Thinned evenly
    # (ml.contracts.thinning.sample_evenly) over the sorted values, so the spread is kept.
    swarm_points_per_feature: int = 400
    map_points: int = 3_000
    # Audited records the overview lists per reason, lowest customer ids first
    # (its summary table counts them all); every record is in marts.customer_audit.
    audit_records_per_reason: int = 500


DEFAULT_LIMITS = Limits()


# The export states no currency and no scale for its money columns, so the
# reports print none unless told: a wrong unit («k₽» on what may be roubles)
# misleads more than a bare number. Revenue and profit get a unit each, since
# nothing says they share a scale. Set them once for the shop, e.g.
# ONE_CLICK_REVENUE_UNIT=₽ ONE_CLICK_PROFIT_UNIT="тыс. ₽".
ENV_REVENUE_UNIT = "ONE_CLICK_REVENUE_UNIT"
ENV_PROFIT_UNIT = "ONE_CLICK_PROFIT_UNIT"


@dataclass(frozen=True)
class MoneyUnits:
    """What the pages print after revenue and profit amounts ('' = a bare number)."""

    revenue: str = ""
    profit: str = ""


def money_units_from_env(environ: Mapping[str, str] | None = None) -> MoneyUnits:
    """The units set by ONE_CLICK_REVENUE_UNIT and ONE_CLICK_PROFIT_UNIT (none when unset)."""
    environ = os.environ if environ is None else environ
    return MoneyUnits(
        revenue=environ.get(ENV_REVENUE_UNIT, "").strip(),
        profit=environ.get(ENV_PROFIT_UNIT, "").strip(),
    )
