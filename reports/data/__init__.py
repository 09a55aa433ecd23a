"""Reading the published warehouse: tables in, plain frames and small dataclasses out.

The pages never see SQL. Nothing here reads a table whose size grows with the
customers into pandas whole: what the pages show of such a table is
aggregated, capped or thinned in DuckDB, within the limits of
reports/config.py, and each frame that holds only a part says how large the
whole is (a `Part`), so the page can say so. Nothing here imports figures or
rendering.
"""

from reports.data.load import ReportData, load_report_data

__all__ = ["ReportData", "load_report_data"]
