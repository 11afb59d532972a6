"""Training as users call it: the engine function, recorded to the run store when given
``record=``.

Scripts, the README and the CLI import ``run_training`` from here; the app's jobs and the
lessons call the engine's (`clr_core.engine.train`) directly, since they record through
the job registry or not at all."""

from __future__ import annotations

import clr_core.engine.train as engine
from clr_core.runs.recording import recorded

__all__ = ["run_training"]

run_training = recorded("train", engine.run_training, home=__name__)
