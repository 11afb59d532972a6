"""What one person may ask of a shared server: jobs at once, iterations per job and per sweep.

Why: one visitor could hold the server's only queue indefinitely (six tabs, six jobs; one
sweep of 5,000 values x 100,000 iterations was accepted; issue 29). The registry checks
these when a job is submitted for an owner, and a refusal names the limit and the
operator's setting that sets it, so the visitor knows what to change and the operator
what to raise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from clr_core.errors import JobError
from clr_core.settings import ENV_PREFIX, Settings, get_settings

__all__ = ["JobSizer", "Limits", "LimitError"]

#: ``sizer(kind, config)``: the training iterations a job would run in all, or None when
#: its config does not say (the runner refuses such a config with its own message).
JobSizer = Callable[[str, Mapping[str, Any]], "int | None"]


class LimitError(JobError):
    """A job refused because it would take one person past a limit of this server."""


@dataclass(frozen=True)
class Limits:
    """Per person (job owner): how many jobs queued or running at once, and how many
    training iterations one job and one sweep may ask for."""

    jobs_per_person: int = 3
    iterations_per_job: int = 1_000_000
    iterations_per_sweep: int = 1_000_000

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Limits:
        s = settings or get_settings()
        return cls(s.max_jobs_per_person, s.max_iterations_per_job, s.max_iterations_per_sweep)

    def check_jobs(self, held: int) -> None:
        """Refuse a new job when its owner already holds ``held`` queued or running ones."""
        if held >= self.jobs_per_person:
            raise LimitError(
                f"You already have {held} job(s) queued or running; this server allows "
                f"{self.jobs_per_person} per person ({ENV_PREFIX}MAX_JOBS_PER_PERSON). Wait "
                "for one to end, or cancel one.")

    def check_size(self, kind: str, iterations: int | None) -> None:
        """Refuse a job that would run more iterations than one job (or sweep) may."""
        if iterations is None:
            return
        sweep = kind == "sweep"
        limit = self.iterations_per_sweep if sweep else self.iterations_per_job
        if iterations > limit:
            what, setting = ("sweep", "MAX_ITERATIONS_PER_SWEEP") if sweep \
                else ("job", "MAX_ITERATIONS_PER_JOB")
            raise LimitError(
                f"This {what} would run {iterations:,} training iterations in all; this server "
                f"allows {limit:,} per {what} ({ENV_PREFIX}{setting}). Use fewer iterations"
                + (" or fewer values." if sweep else " or fewer runs."))
