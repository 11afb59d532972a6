"""The range test as users call it: the engine function, recorded to the run store when
given ``record=``, returning a result that shows itself in a notebook (``summary()``,
``plot()``, ``_repr_html_``: `clr_core.present.notebook`).

Scripts, the README and the CLI import ``run_range_test`` from here, and ``confirm_peak``,
the short trainings that confirm its peak (`clr_core.engine.confirm`), recorded as a "confirm"
run when given ``record=`` (`clr_core.runs.confirm_record`); the app's jobs and
the lessons call the engine's (`clr_core.engine.range_test`) directly, since they record
through the job registry or not at all."""

from __future__ import annotations

import clr_core.engine.confirm as confirming
import clr_core.engine.range_test as engine
from clr_core.present.notebook import shown
from clr_core.runs.confirm_record import recorded_confirm
from clr_core.runs.recording import recorded

__all__ = ["confirm_peak", "run_range_test"]

run_range_test = recorded("range_test", engine.run_range_test, home=__name__, returns=shown)
confirm_peak = recorded_confirm(confirming.confirm_peak, home=__name__)
