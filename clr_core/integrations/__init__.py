"""CLR Studio inside the training stacks people already use: PyTorch Lightning
(`clr_core.integrations.lightning`) and the Hugging Face ``Trainer``
(`clr_core.integrations.huggingface`).

Each offers the same three things: a callback that records a training live to the run
store (the app's Runs page draws it as it trains), a range test on the user's objects as
they are (restored afterwards, returning the engine's `RangeTestResult`), and the
recommendation turned into that stack's own scheduler. `common` holds what they share.

This package imports neither Lightning nor transformers: each stack's module imports its
library at the top, so ``import clr_core`` (or this package) never pays for one. It sits
beside ``cli`` and ``lessons`` in the layers and may import everything below them.
"""

from __future__ import annotations

# The two stacks' modules (each imports its library, so `import *` here needs both).
__all__ = ["huggingface", "lightning"]
