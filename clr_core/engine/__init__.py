"""The engine: torch code that trains. One loop (``loop``) drives both the LR range test
(``range_test``) and short trainings (``train``); they emit typed ``Event``s (``events``) and
return typed results (``results``). ``device`` picks cuda, mps or cpu; ``restore`` puts a
model and optimizer back bit for bit; ``smoothing``, ``sharpness``, ``baselines`` and
``param_groups`` are the pieces the two share.

The engine knows nothing of the run store or of jobs: recording wraps it
(`clr_core.range_test`, `clr_core.train`) and jobs call it.

May import: ``clr_core.suggest``, ``clr_core.schedules``, ``validation``, ``jsonsafe``,
``errors``.

Nothing is re-exported here: importing one engine module (say `results`, which the
pages read) must not load torch through the others. Import names from their modules.

Users run the engine through `clr_core.range_test` and `clr_core.train`; what they hold
afterwards, `RangeTestResult` and `TrainResult`, is in ``results``, the one public module.
"""

__all__ = ["results"]
