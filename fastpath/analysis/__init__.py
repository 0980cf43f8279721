"""What comes out of a run: load reports (`report`), scaling studies (`study`)."""

from .report import (
    Capacity,
    LoadReport,
    ReportAccumulator,
    RunTotals,
    load_report,
    resolve_capacity,
)

__all__ = ["Capacity", "LoadReport", "ReportAccumulator", "RunTotals", "load_report", "resolve_capacity"]
