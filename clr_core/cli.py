"""`clr-studio` (or `python -m clr_core`): CLR Studio from a terminal.

`range-test` and `train` run the engine, on digits by default; `ray-check` says whether the
Ray cluster at RAY_ADDRESS takes the app's jobs; `app` starts the Streamlit app.

Runs are saved to the run store the app reads (``--no-record`` to skip). Ctrl-C (or
SIGTERM, or SIGHUP) cancels the run the way the app's Cancel button does: the partial curve is printed, written to
``--json`` and saved; a second Ctrl-C quits at once. Under ``torchrun --nproc_per_node=N -m
clr_core range-test`` every rank joins the process group (gloo, or NCCL on GPUs), trains a
DDP model on its shard of the data, and rank 0 alone prints and records
(docs/distributed.md). ``--json`` is checked before the run
starts, so a run is never lost to a path that cannot be written.

Exit status, as shells and schedulers read it: 0 done; 1 the run failed (it raised, its
data was missing, or the designed training diverged); 2 bad usage only (argparse's own
errors, and flags or values the configuration refuses: a ``ConfigError`` or
``ScheduleError``, found before anything trains); 130 cancelled by Ctrl-C (after the partial
result is written and saved).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import signal
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from clr_core import __version__
from clr_core.cli_confirm import add_confirm_args, confirm_after, confirm_requested
from clr_core.cli_files import OutputError, check_json_target, read_schedule, write_json
from clr_core.cli_trackers import add_log_to, log_to_sinks
from clr_core.engine import distributed
from clr_core.engine.baselines import BASELINES
from clr_core.errors import ClrError, ConfigError, ScheduleError
from clr_core.jobs.executors.ray import RayExecutor
from clr_core.jobs.runners import RUNNERS, baseline_runs, no_events, with_trackers
from clr_core.jsonsafe import json_safe
from clr_core.launch import start_app
from clr_core.present.tables import summary_table
from clr_core.runs.recorder import record_job
from clr_core.runs.reports import RangeTestReport, TrainReport
from clr_core.setup import data_catalogue, models, optim, plugins
from clr_core.setup.configs import RangeTestConfig, TrainConfig
from clr_core.setup.data_catalogue import summary_of

__all__ = ["CtrlC", "OutputError", "Progress", "build_parser", "check_json_target",
           "cmd_range_test", "cmd_ray_check", "cmd_train", "exit_status", "failed_run", "main",
           "print_range_test", "prog_name", "read_schedule", "write_json"]

#: Stop reasons of a training that failed: its loss left the finite numbers.
FAILED_STOPS = ("diverged", "non-finite loss")


class Progress:
    """A one-line progress bar on stderr; the engine's callbacks drive it."""

    def __init__(self, stream=sys.stderr, width: int = 30):
        self.stream, self.width, self.t0, self.last = stream, width, time.monotonic(), 0.0

    def __call__(self, event: dict | None, progress: float | None = None) -> None:
        event, now = event or {}, time.monotonic()  # None: progress alone (a confirmation's)
        if progress is None or (now - self.last < 0.1 and progress < 1.0):
            return
        self.last = now
        filled = int(self.width * progress)
        loss = event.get("loss")
        extra = f" lr={event['lr']:.3g}" if "lr" in event else ""
        if loss is not None and math.isfinite(loss):
            extra += f" loss={loss:.4f}"
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r[{bar}] {100 * progress:5.1f}% {now - self.t0:6.1f}s{extra}   ")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default="digits", choices=sorted(data_catalogue.DATASETS))
    p.add_argument("--data-root", default=None, help="where torchvision data sets live")
    p.add_argument("--download", action="store_true", help="download the data set if missing")
    p.add_argument("--model", default="mlp",
                   help=f"{', '.join(sorted(models.MODELS))}, or MODULE:FUNCTION returning your "
                        "torch.nn.Module")
    p.add_argument("--data", default=None, metavar="MODULE:FUNCTION",
                   help="your data: a function returning a train loader or (train, val)")
    p.add_argument("--loss", default=None, metavar="MODULE:FUNCTION",
                   help="loss(outputs, targets), or a loss class (default: cross-entropy)")
    p.add_argument("--batch-to-inputs", default=None, metavar="MODULE:FUNCTION",
                   help="batch -> (inputs, targets), for batches that are not (x, y) pairs")
    p.add_argument("--record", default=None, metavar="NAME",
                   help="name of the run in the run store (CLR_STUDIO_DB) the app shows")
    p.add_argument("--no-record", action="store_true", help="do not save the run")
    add_log_to(p)  # --log-to tensorboard:DIR, mlflow[:URI]
    p.add_argument("--optimizer", default="sgd", choices=sorted(optim.OPTIMIZERS))
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None, help="write the full result here")
    _output_options(p)


def _output_options(p: argparse.ArgumentParser) -> None:
    how = p.add_mutually_exclusive_group()
    how.add_argument("-q", "--quiet", action="store_true",
                     help="no progress bar or notes: only the result and errors")
    how.add_argument("-v", "--verbose", "--debug", dest="verbose", action="store_true",
                     help="the configuration before the run, and the traceback of an error")


def _base_config(a: argparse.Namespace) -> dict:
    config = {"dataset": a.dataset, "data_root": a.data_root, "download": a.download,
              "model": a.model, "optimizer": a.optimizer, "batch_size": a.batch_size,
              "weight_decay": a.weight_decay, "momentum": a.momentum, "device": a.device,
              "seed": a.seed}
    # Your own factories: imported here, because you typed them (see clr_core.setup.plugins).
    specs = {"model": a.model if ":" in a.model else None, "data": a.data, "loss": a.loss,
             "batch_to_inputs": a.batch_to_inputs}
    for kind, spec in specs.items():
        if spec is not None:
            config["dataset" if kind == "data" else kind] = plugins.register_spec(kind, spec).name
    return config


#: The signals that cancel a run: Ctrl-C, and what `kill`, a batch scheduler (SIGTERM) or a
#: closed terminal (SIGHUP) send, so those also keep the partial curve, --json and record.
CANCEL_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                       if hasattr(signal, name))


class CtrlC:
    """The first Ctrl-C (or SIGTERM, or SIGHUP) asks the run to stop (it returns its
    partial result, as the app's Cancel does); a second one quits at once."""

    def __init__(self) -> None:
        self.pressed = False

    def __call__(self) -> bool:
        return self.pressed

    def _handle(self, signum: int, frame: object) -> None:
        if self.pressed:
            raise KeyboardInterrupt
        self.pressed = True
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        with contextlib.suppress(OSError, ValueError):  # a closed terminal (SIGHUP)
            sys.stderr.write(f"\n{name}: stopping after this batch; the partial curve is "
                             "kept (Ctrl-C again to quit now)\n")

    @contextlib.contextmanager
    def installed(self) -> Iterator[CtrlC]:
        previous = {sig: signal.signal(sig, self._handle) for sig in CANCEL_SIGNALS}
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _run(kind: str, config: dict, a: argparse.Namespace) -> dict:
    """Run the app's runner with a progress bar, recorded as the app records its jobs."""
    main = distributed.is_main()  # under torchrun only rank 0 draws and records
    sinks = log_to_sinks(a.log_to, run_name=a.record) if main and kind in ("range_test", "train") \
        and getattr(a, "log_to", None) else []
    runner = with_trackers(kind, sinks) if sinks else RUNNERS[kind]
    if a.verbose:
        print(f"config: {json.dumps(json_safe(config), sort_keys=True)}", file=sys.stderr)
    bar = None if a.quiet or not main else Progress()
    emit = bar or no_events
    try:
        with CtrlC().installed() as stop:
            if a.no_record or not main:
                return runner(config, emit, stop)
            noun = {"range_test": "range test", "confirm": "confirmation"}.get(kind, "training")
            out, rec = record_job(runner, kind, config,
                                  label=a.record or f"{noun} · {config['dataset']}",
                                  emit=emit, should_stop=stop)
    finally:
        if bar is not None:
            bar.close()
    if not a.quiet:
        print(f"recorded as run #{rec.run_id} in {rec.store.path}", file=sys.stderr)
    return out


def print_range_test(report: RangeTestReport, what: str) -> None:
    """A finished range test as the CLI prints it: how it ran, then its summary's lines
    (the headline, the page's sentences, the warnings: `clr_core.present.summary`) and
    the other rules' table."""
    rt = report.range_test
    print(f"range test on {what}: {rt.iterations} iterations, "
          f"stopped: {rt.stop_reason}, device {report.device}")
    summary = summary_of(rt, report.config)
    for line in summary.lines()[1:]:  # the page's headline, sentences and warnings, in order
        print(line)
    table = summary_table(summary).drop(columns=["source", "explanation"])
    with pd.option_context("display.max_colwidth", 90, "display.width", 200):
        if len(table):
            print("other rules (regret = points of accuracy lost on the generated benchmark's "
                  "held-out tasks, bench/gen_bench.py):"
                  if summary.regret_shown else
                  "other rules (no regret shown: this model is scored by its loss, the "
                  "benchmark's regret is in accuracy points):")
            print(table.to_string(index=False, float_format=lambda x: f"{x:.3g}", na_rep="-"))


def cmd_range_test(a: argparse.Namespace) -> dict:
    config = {**_base_config(a), "start_lr": a.start_lr, "end_lr": a.end_lr,
              "num_iter": a.num_iter, "mode": a.mode, "eval_every": a.val_every}
    RangeTestConfig.from_dict(config)  # bad input: a message, and nothing saved
    confirming = confirm_requested(a)
    out = _run("range_test", config, a)
    report = RangeTestReport.from_dict(out)
    print_range_test(report, f"{config['dataset']} ({config.get('model', a.model)}, {a.optimizer})")
    return confirm_after(out, a, _run) if confirming else out


def cmd_train(a: argparse.Namespace) -> dict:
    if a.schedule:
        schedule = read_schedule(a.schedule)
    else:
        schedule = {"policy": "one_cycle", "max_lr": a.max_lr, "total_steps": a.num_iter}
    config = {**_base_config(a), "schedule": schedule, "num_iter": a.num_iter,
              "eval_every": a.eval_every}
    TrainConfig.from_dict(config)  # num_iter 0 and friends: a message first
    config["runs"] = baseline_runs(
        schedule=schedule, baselines=a.baseline, num_iter=a.num_iter, optimizer=a.optimizer)
    TrainConfig.from_dict({k: v for k, v in config.items() if k != "runs"})
    out = _run("train", config, a)
    rows = [{"run": r.label, "final_val_acc": r.train.final_val_accuracy,
             "best_val_acc": r.train.best_val_accuracy, "stop": r.train.stop_reason}
            for r in TrainReport.from_dict(out).curves]
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    return out


def cmd_ray_check(a: argparse.Namespace) -> dict:
    """Connect as the app would (the same check its first job makes) and say what the
    cluster has, or why it cannot be used, in one line."""
    executor = RayExecutor(address=a.address, connect_timeout_s=a.timeout)
    try:
        info = executor.check()
    finally:
        executor.close()
    where = (f"Ray cluster at {executor.address}" if executor.address
             else "A private local Ray (RAY_ADDRESS is unset)")
    print(f"{where}: {info['nodes']} node(s), {info['cpus']:g} CPUs, {info['gpus']:g} GPUs, "
          f"Ray {info['ray_version']}")
    return info


def prog_name(argv0: str | None = None) -> str:
    """The command the user typed, for the help and usage lines: ``clr-studio`` from the
    installed script (``clr-studio.exe`` on Windows), ``python -m clr_core`` otherwise."""
    argv0 = sys.argv[0] if argv0 is None and sys.argv else argv0 or ""
    return "clr-studio" if Path(argv0).name.startswith("clr-studio") else "python -m clr_core"


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or prog_name(), description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    rt = sub.add_parser("range-test", help="sweep the learning rate and suggest bounds")
    _common(rt)
    rt.add_argument("--start-lr", type=float, default=1e-5)
    rt.add_argument("--end-lr", type=float, default=10.0)
    rt.add_argument("--num-iter", type=int, default=100)
    rt.add_argument("--mode", choices=["exp", "linear"], default="exp")
    rt.add_argument("--val-every", type=int, default=0,
                    help="measure validation accuracy every k iterations (Smith's test)")
    add_confirm_args(rt)
    rt.set_defaults(func=cmd_range_test)
    tr = sub.add_parser("train", help="a short training with a schedule, against baselines")
    _common(tr)
    tr.add_argument("--schedule", default=None, help="schedule JSON exported by the designer")
    tr.add_argument("--max-lr", type=float, default=0.1, help="1cycle max_lr when no --schedule")
    tr.add_argument("--num-iter", type=int, default=300)
    tr.add_argument("--eval-every", type=int, default=50)
    tr.add_argument("--baseline", action="append", default=[],
                    choices=sorted(BASELINES),
                    help="add a baseline run (repeatable)")
    tr.set_defaults(func=cmd_train)
    rc = sub.add_parser("ray-check", help="check the Ray cluster the app's jobs would run on")
    rc.add_argument("--address", default=None,
                    help="host:port or ray://host:10001 (default: $RAY_ADDRESS)")
    rc.add_argument("--timeout", type=float, default=30.0, help="seconds before giving up")
    _output_options(rc)
    rc.set_defaults(func=cmd_ray_check, json=None)
    app = sub.add_parser(
        "app", help="start the Streamlit app (other options go to `streamlit run`)",
        description="Start CLR Studio's app, as scripts/app.sh does: `streamlit run` of the "
                    "installed app with --browser.gatherUsageStats false. Any other option is "
                    "passed to `streamlit run`, e.g. --server.port 8502 --server.headless true.")
    app.set_defaults(func=None, json=None)
    return parser


def describe_error(exc: BaseException) -> str:
    """One line naming the cause: ours as written; anything else by its type, its first
    line, and where it was raised (a user's model or data, usually)."""
    if isinstance(exc, ClrError):
        return str(exc)
    text = " ".join(str(exc).split()) or "(no message)"
    if len(text) > 300:
        text = text[:297] + "..."
    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    if frames:
        last = frames[-1]
        where = f" (raised in {Path(last.filename).name}:{last.lineno}, {last.name})"
    return f"{type(exc).__name__}: {text}{where}; --verbose shows the traceback"


def exit_status(exc: Exception) -> int:
    """2 when the command line asked for what cannot run: a configuration or schedule the
    library refuses (``ConfigError``, ``ScheduleError``; nothing trained). 1 when the run
    failed: missing data, the user's model raising mid-run, a result that cannot be written."""
    return 2 if isinstance(exc, ConfigError | ScheduleError) else 1


def failed_run(command: str, out: dict) -> str | None:
    """Why a finished run counts as failed, or None. A range test ends on divergence by
    design; a training fails when the designed run (the first; baselines are comparisons)
    left the finite numbers."""
    if command != "train" or out.get("cancelled"):
        return None
    designed = TrainReport.from_dict(out).curves[0]
    stop = designed.train.stop_reason
    if stop not in FAILED_STOPS:
        return None
    return (f"the run '{designed.label}' failed: {stop} after {len(designed.train.losses)} "
            "iterations (try a lower max_lr, or the range test's recommendation)")


def main(argv: list[str] | None = None) -> int:
    """The CLI; returns the exit status (argparse exits with 2 itself on bad usage)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "app":
        try:
            return start_app(extra)
        except ClrError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    joined = False
    try:
        # under torchrun: join its process group; the model goes in DDP, the data in shards
        joined = distributed.init_from_env(getattr(args, "device", None))
        if not distributed.is_main():  # rank 0 prints and writes for all
            args.json = None
            sys.stdout = io.StringIO()
        if args.json:
            check_json_target(args.json)
        out = args.func(args)
        if args.json:
            write_json(args.json, out, recorded=not args.no_record)
            if not args.quiet:
                print(f"wrote {args.json}", file=sys.stderr)
        distributed.barrier()  # under torchrun: no rank exits before rank 0 has recorded
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI's one boundary: a line, not a traceback
        if args.verbose:
            traceback.print_exc()
        print(f"error: {describe_error(exc)}", file=sys.stderr)
        return exit_status(exc)
    finally:
        if joined:
            sys.stdout = sys.__stdout__
            distributed.leave()
    if out.get("cancelled"):
        return 130
    failure = failed_run(args.command, out)
    if failure:
        print(f"error: {failure}", file=sys.stderr)
        return 1
    return 0
