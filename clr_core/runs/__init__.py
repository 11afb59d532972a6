"""Runs: what is kept. The SQLite run store (``store``: connections, start-up, saved runs;
``live``: runs still going; ``format``: schema, rows and their JSON), the reports a job or
a recorded call produces (``reports``), the one writer of live runs and its retry policy,
used by scripts and the app's jobs alike (``writer``), recording a script's run live
(``recorder``) and ``record=``'s fan-out to the store and to sinks such as TensorBoard
(``recording``).

May import: ``clr_core.engine`` (the results a report holds), ``clr_core.suggest``,
``clr_core.schedules``, ``validation``, ``jsonsafe``, ``errors``. Not ``clr_core.setup``
or ``clr_core.jobs``.

``__all__`` is what a script or notebook calls: the `RunStore` (and `default_db_path`, where
it lives unless ``CLR_STUDIO_DB`` says), the `Run` and `RunSummary` it hands back, and the
`Sink` protocol for ``record=`` targets of your own. The rest is the recorder's and the
jobs' plumbing.
"""

from __future__ import annotations

# Re-exports: __all__ names the public ones; the others stay importable from here (the
# app's pages, the CLI and earlier scripts import them so), but are private.
from clr_core.runs.format import (  # noqa: F401
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
from clr_core.runs.live import Connect, LiveRuns, SaveRun  # noqa: F401
from clr_core.runs.recorder import (  # noqa: F401
    FLUSH_S,
    RunRecorder,
    describe_call,
    open_store,
    record_job,
    status_of,
)
from clr_core.runs.recording import Recording, Sink, recorded  # noqa: F401
from clr_core.runs.reports import (  # noqa: F401
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
from clr_core.runs.store import ENV_VAR, RunStore, default_db_path  # noqa: F401

__all__ = ["Run", "RunStore", "RunSummary", "Sink", "default_db_path"]
