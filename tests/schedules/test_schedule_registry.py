"""The registry is built from the policy classes: a policy defined in one place (here, a
test fixture) is a policy everywhere -- registry, torch adapter, code export, presets'
`from_dict` -- and the package has no import circle and no oversized module."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import clr_core.schedules as schedules
from clr_core.errors import ScheduleError
from clr_core.schedules import POLICIES, Schedule, from_dict, make_schedule
from clr_core.schedules.spec import FLOAT, INT, ParamSpec, PolicySpec, positive
from clr_core.schedules.torch_adapter import ScheduleLR

PACKAGE = Path(schedules.__file__).parent


@pytest.fixture
def toy_policy():
    """A whole policy in one class: spec, check, closed form, code export."""
    from clr_core.schedules import codegen, registry

    class Halving(Schedule):
        __slots__ = ()
        spec = PolicySpec(
            "toy_halving", "Toy halving", "lr halves every `every` steps (a test policy).",
            [ParamSpec("lr", 0.1, FLOAT, "Start LR.", log=True, required=True),
             ParamSpec("every", 3, INT, "Steps between halvings.")],
            source="nobody, 'a test', 2026")

        @classmethod
        def check(cls, p):
            positive("toy_halving", p, "lr", "every")

        def _lr(self, k):
            return self._params["lr"] * 0.5 ** (k // self._params["every"]).astype(np.float64)

        def code_body(self):
            p = self._params
            return codegen.lambda_code([f"LR = {p['lr']!r}", f"EVERY = {p['every']!r}"],
                                       "LR * 0.5 ** (k // EVERY)")

    yield Halving
    registry.unregister("toy_halving")


def test_a_policy_defined_in_one_class_is_registered_everywhere(toy_policy):
    assert POLICIES["toy_halving"] is toy_policy.spec
    sched = make_schedule("toy_halving", lr=0.8, every=2)
    assert isinstance(sched, toy_policy)
    assert from_dict(sched.to_dict()) == sched
    np.testing.assert_array_equal(sched.lr(np.arange(6)), [0.8, 0.8, 0.4, 0.4, 0.2, 0.2])
    with pytest.raises(ScheduleError, match="toy_halving: every must be > 0"):
        make_schedule("toy_halving", lr=0.8, every=0)
    # the torch adapter, from the schedule and from its dict
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    adapter = ScheduleLR(opt, sched.to_dict())
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(6):
            seen.append(opt.param_groups[0]["lr"])
            opt.step()
            adapter.step()
    np.testing.assert_array_equal(seen, sched.lr(np.arange(6)))
    # the code export
    opt2 = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    ns = {"optimizer": opt2}
    exec(compile(sched.to_code(), "<toy>", "exec"), ns)
    seen2 = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(6):
            seen2.append(opt2.param_groups[0]["lr"])
            opt2.step()
            ns["scheduler"].step()
    np.testing.assert_array_equal(seen2, seen)


def test_unregistered_after_the_fixture():
    assert "toy_halving" not in POLICIES
    with pytest.raises(ScheduleError, match="unknown policy"):
        make_schedule("toy_halving", lr=0.1)


def test_a_policy_without_its_own_code_exports_through_clr_core(toy_policy):
    class Plain(toy_policy):
        __slots__ = ()
        spec = PolicySpec("toy_plain", "Toy plain", "No code_body of its own.",
                          toy_policy.spec.params)
        code_body = Schedule.code_body

    try:
        sched = make_schedule("toy_plain", lr=0.3, every=1)
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        ns = {"optimizer": opt}
        exec(compile(sched.to_code(), "<plain>", "exec"), ns)
        assert opt.param_groups[0]["lr"] == pytest.approx(0.3)
    finally:
        from clr_core.schedules import registry
        registry.unregister("toy_plain")


def _imports(path: Path) -> set[str]:
    """Modules of this package that `path` imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "clr_core.schedules":
                found |= {a.name for a in node.names}
            elif node.module.startswith("clr_core.schedules."):
                found.add(node.module.rsplit(".", 1)[1])
    return found


def test_no_import_circle_and_no_oversized_module():
    modules = {p.stem: p for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    graph = {name: _imports(path) & set(modules) for name, path in modules.items()}
    state: dict[str, int] = {}

    def visit(name, trail):
        if state.get(name) == 1:
            raise AssertionError(f"import circle: {' -> '.join([*trail, name])}")
        if state.get(name) == 2:
            return
        state[name] = 1
        for dep in graph[name]:
            visit(dep, [*trail, name])
        state[name] = 2

    for name in graph:
        visit(name, [])
    for path in PACKAGE.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 400, path.name
