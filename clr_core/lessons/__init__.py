"""Guided lessons: each explains one idea from a paper, states one of its claims, and lets the
reader move its controls and see the answer at once (closed-form lessons) or in a few seconds
(lessons that train a small network on digits). The Learn page only draws what they return.

May import every layer below the command line: ``clr_core.present`` (figures), the engine
(called directly, unrecorded), ``setup``, ``suggest`` and ``schedules``."""

from clr_core.lessons.catalogue import CLAIM_CHECKS, LESSONS, lesson_by_key
from clr_core.lessons.model import (
    Claim,
    Control,
    Lesson,
    LessonView,
    lesson_problems,
    link_problems,
    query_from_values,
    values_from_query,
)

__all__ = ["CLAIM_CHECKS", "LESSONS", "Claim", "Control", "Lesson", "LessonView",
           "lesson_by_key", "lesson_problems", "link_problems", "query_from_values",
           "values_from_query"]
