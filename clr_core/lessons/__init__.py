"""Guided lessons: each explains one idea from a paper, states one of its claims, and lets the
reader move its controls and see the answer at once (closed-form lessons) or in a few seconds
(lessons that train a small network on digits). The Learn page only draws what they return.

May import every layer below the command line: ``clr_core.present`` (figures), the engine
(called directly, unrecorded), ``setup``, ``suggest`` and ``schedules``.

``__all__`` is the catalogue and what a lesson is made of; the link and claim checks are
the Learn page's and the tests' plumbing."""

# Re-exports: __all__ names the public ones; the others stay importable from here (the
# app's pages, the CLI and earlier scripts import them so), but are private.
from clr_core.lessons.catalogue import CLAIM_CHECKS, LESSONS, lesson_by_key  # noqa: F401
from clr_core.lessons.model import (  # noqa: F401
    Claim,
    Control,
    Lesson,
    LessonView,
    lesson_problems,
    link_problems,
    query_from_values,
    values_from_query,
)

__all__ = ["LESSONS", "Claim", "Control", "Lesson", "LessonView", "lesson_by_key"]
