"""The range-test and training pages' "Also log to": offered only for a tracker the server's
operator set up (CLR_STUDIO_TRACKER_*), named by its role and never by its place, and a
job started with it ticked writes a TensorBoard event file that tbparse reads back."""

from __future__ import annotations

import numpy as np
from apptest_helpers import open_page, plain, run_until_done
from tbparse import SummaryReader

from ui.jobs import registry


def _labels(at) -> list[str]:
    return [plain(c.label) for c in at.checkbox]


def test_a_tracker_is_offered_by_its_role_once_the_operator_sets_it_up(monkeypatch, tmp_path):
    monkeypatch.delenv("CLR_STUDIO_TRACKER_TENSORBOARD_DIR", raising=False)
    monkeypatch.delenv("CLR_STUDIO_TRACKER_MLFLOW_URI", raising=False)
    at = open_page("pages/range_test.py")
    assert not [label for label in _labels(at) if "Also log to" in label]
    place = tmp_path / "secret-tb-place"
    monkeypatch.setenv("CLR_STUDIO_TRACKER_TENSORBOARD_DIR", str(place))
    monkeypatch.setenv("CLR_STUDIO_TRACKER_MLFLOW_URI", "http://mlflow.internal:5000")
    monkeypatch.setenv("CLR_STUDIO_TRACKER_NAME", "team")
    for page, key in (("pages/range_test.py", "rt"), ("pages/training.py", "train")):
        at = open_page(page)
        offered = [label for label in _labels(at) if "Also log to" in label]
        assert offered == ["Also log to TensorBoard (team)", "Also log to MLflow (team)"]
        assert not at.checkbox(key=f"{key}.log_to.tensorboard").value  # off until ticked
        drawn = " ".join(plain(str(e.proto)) for e in at.main) + \
            " ".join(plain(str(e.proto)) for e in at.sidebar)
        assert "secret-tb-place" not in drawn and "mlflow.internal" not in drawn


def test_a_range_test_ticked_for_tensorboard_reads_back_with_tbparse(monkeypatch, tmp_path):
    monkeypatch.setenv("CLR_STUDIO_TRACKER_TENSORBOARD_DIR", str(tmp_path / "tb"))
    at = open_page("pages/range_test.py")
    at.text_input(key="rt.num_iter").set_value("20").run()
    at.text_input(key="rt.sharpness_every").set_value("0").run()
    at.checkbox(key="rt.log_to.tensorboard").check().run()
    at.button(key="btn.rt.start").click().run()
    assert run_until_done(at, "rt.job") == "done"
    status = registry().status(at.session_state["rt.job"])
    assert status.config["log_to"] == ["tensorboard"]  # the role, not the place
    rt = status.result["range_test"]
    (run_dir,) = [p for p in (tmp_path / "tb").iterdir() if p.is_dir()]
    assert run_dir.name.startswith("range-test")
    frame = SummaryReader(str(run_dir), pivot=False).scalars
    got = {tag: g.sort_values("step") for tag, g in frame.groupby("tag")}
    assert got["range_test/loss"]["step"].tolist() == list(range(len(rt["losses"])))
    np.testing.assert_allclose(got["range_test/loss"]["value"], rt["losses"], rtol=1e-6)
    np.testing.assert_allclose(got["range_test/lr"]["value"], rt["lrs"], rtol=1e-6)
    np.testing.assert_allclose(got["range_test/momentum/group_0"]["value"], 0.9, rtol=1e-6)
    assert "range_test/suggestion/recommended/max_lr" in got
