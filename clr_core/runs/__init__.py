"""Runs: what is kept. The SQLite run store (``store``: connections, start-up, saved runs;
``live``: runs still going; ``format``: schema, rows and their JSON), the reports a job or
a recorded call produces (``reports``), the one writer of live runs and its retry policy,
used by scripts and the app's jobs alike (``writer``), recording a script's run live
(``recorder``) and ``record=``'s fan-out to the store and to sinks such as TensorBoard
(``recording``).

May import: ``clr_core.engine`` (the results a report holds), ``clr_core.suggest``,
``clr_core.schedules``, ``validation``, ``jsonsafe``, ``errors``. Not ``clr_core.setup``
or ``clr_core.jobs``.
"""

from __future__ import annotations

from clr_core.runs.format import (
    FINAL_STATUSES,
    LIVE_STATUS,
    MIGRATIONS,
    SCHEMA_VERSION,
    SUMMARY_COLUMNS,
    Run,
    RunSummary,
    dumps,
    headline_of,
    is_corrupt,
    loads,
)
from clr_core.runs.live import Connect, LiveRuns, SaveRun
from clr_core.runs.recorder import (
    FLUSH_S,
    RunRecorder,
    describe_call,
    open_store,
    record_job,
    status_of,
)
from clr_core.runs.recording import Recording, Sink, recorded
from clr_core.runs.reports import (
    RangeTestReport,
    Report,
    SweepCurve,
    SweepRecommendation,
    SweepReport,
    TrainCurve,
    TrainReport,
    range_test_report,
    report_from_dict,
    train_report,
)
from clr_core.runs.store import ENV_VAR, RunStore, default_db_path

__all__ = [
    "Connect",
    "ENV_VAR",
    "FINAL_STATUSES",
    "FLUSH_S",
    "LIVE_STATUS",
    "LiveRuns",
    "MIGRATIONS",
    "RangeTestReport",
    "Recording",
    "Report",
    "Run",
    "RunRecorder",
    "RunStore",
    "RunSummary",
    "SCHEMA_VERSION",
    "SUMMARY_COLUMNS",
    "SaveRun",
    "Sink",
    "SweepCurve",
    "SweepRecommendation",
    "SweepReport",
    "TrainReport",
    "TrainCurve",
    "default_db_path",
    "describe_call",
    "dumps",
    "headline_of",
    "is_corrupt",
    "loads",
    "open_store",
    "range_test_report",
    "record_job",
    "recorded",
    "report_from_dict",
    "status_of",
    "train_report",
]
