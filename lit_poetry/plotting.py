"""Curves of several runs in one figure, from their local CSV metrics, and a summary table.

    python -m lit_poetry plot logs/optimizer_comparison/multiruns/<date>            # all runs below it
    python -m lit_poetry plot <dir> target_loss=5.5 out=docs/figures/optimizers
    lit-poetry-plot <dir>                                                             # installed

Each run is a folder with csv/metrics.csv (the CSV logger); its label is its Hydra overrides less
those every run shares (`optimizer=adam`), with its folder where two runs would share one. Both panels
are drawn against the step (runs may validate mid-epoch), one legend below them. Writes <out>.png,
<out>.svg and <out>.md (the table) and prints the table. Runs without metrics are reported as missing,
runs whose loss became NaN/inf as diverged; the others are drawn either way.
"""

import csv
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from lit_poetry.errors import ERROR_FILE, DivergedError

# overrides that do not change what a run computes: the progress display, resuming (the experiment stays:
# runs of two experiments with the same other overrides differ by it)
NOT_IN_LABEL = ("trainer.enable_progress_bar=", "~callbacks.rich_progress_bar", "ckpt_path=", "resume=")


@dataclass
class Run:
    label: str
    path: Path
    train_steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_epochs: list[int] = field(default_factory=list)
    val_steps: list[int] = field(default_factory=list)  # where it was drawn: runs may validate mid-epoch
    val_ppl: list[float] = field(default_factory=list)
    wall_s: float = math.nan
    tokens_per_s: float = math.nan  # the last epoch's training throughput (train/tokens_per_second)
    peak_memory_mb: float = math.nan  # the largest train/peak_memory_mb logged
    error: str = ""  # the message of error.json, written when a job of a multirun stopped on an error
    error_type: str = ""  # its exception type: DivergedError for a non-finite loss

    @property
    def has_metrics(self) -> bool:
        return bool(self.train_loss or self.val_ppl)

    @property
    def diverged(self) -> bool:
        nonfinite = any(not math.isfinite(v) for v in self.train_loss + self.val_ppl)
        return nonfinite or self.error_type == DivergedError.__name__


def _float(text: str | None) -> float | None:
    return float(text) if text not in (None, "") else None


def read_run(run_dir: Path) -> Run:
    """A run's label, its curves from <run_dir>/csv/metrics*.csv (empty when there are none), its error."""
    overrides = run_dir / ".hydra" / "overrides.yaml"  # this job's command-line overrides, one per line
    if overrides.is_file():
        lines = overrides.read_text(encoding="utf-8").splitlines()
        items = [line[2:].strip() for line in lines if line.startswith("- ")]
        label = ",".join(i for i in items if not i.startswith(NOT_IN_LABEL))
    else:
        label = run_dir.name
    run = Run(label or run_dir.name, run_dir)
    if (run_dir / ERROR_FILE).is_file():
        record = json.loads((run_dir / ERROR_FILE).read_text(encoding="utf-8"))
        run.error, run.error_type = record["message"], record["type"]
    # metrics.csv, and the metrics-<time>.csv a resumed run kept from before (training.py), oldest first
    files = sorted((run_dir / "csv").glob("metrics*.csv"), key=lambda p: p.stat().st_mtime)
    if not files:
        return run
    for metrics in files:
        with open(metrics) as f:
            for row in csv.DictReader(f):
                loss, ppl = _float(row.get("train/loss_step")), _float(row.get("val/ppl"))
                speed, memory = _float(row.get("train/tokens_per_second")), _float(row.get("train/peak_memory_mb"))
                if speed is not None:
                    run.tokens_per_s = speed
                if memory is not None and not run.peak_memory_mb >= memory:  # the largest of every sitting's
                    run.peak_memory_mb = memory  # (each sitting resets it; nan >= x is false: the first one)
                if loss is not None:
                    run.train_steps.append(int(row["step"]))
                    run.train_loss.append(loss)
                if ppl is not None:
                    run.val_epochs.append(int(row["epoch"]))
                    run.val_steps.append(int(row["step"]))
                    run.val_ppl.append(ppl)
    start = run_dir / ".hydra" / "config.yaml"  # written when the job starts; metrics.csv last at its end
    if start.is_file():
        run.wall_s = files[-1].stat().st_mtime - start.stat().st_mtime
    return run


def find_runs(root: Path) -> list[Run]:
    """Every run folder under root (one holding .hydra/ or csv/), sorted by name."""
    candidates = sorted({p.parent for p in root.rglob(".hydra")} | {p.parent for p in root.rglob("csv")})
    runs = [read_run(run_dir) for run_dir in candidates]
    shorten_labels(runs)
    return runs


def shorten_labels(runs: list[Run]) -> None:
    """Drop the overrides every run shares: `optimizer=adam,trainer.max_epochs=8` -> `optimizer=adam`;
    runs started with the same overrides, and a run alone, are named by their folders; a label two runs
    still share gets each run's folder after it."""
    if len(runs) == 1:
        runs[0].label = runs[0].path.name
        return
    parts = [run.label.split(",") for run in runs]
    shared = set.intersection(*map(set, parts))
    for run, items in zip(runs, parts):
        run.label = ",".join(p for p in items if p not in shared) or (run.path.name if shared else run.label)
    labels = Counter(run.label for run in runs)
    for run in runs:  # a sweep's jobs are folders 0, 1, ...: the sweep's folder too
        if labels[run.label] > 1:
            run.label += f" ({run.path.parent.name}/{run.path.name})"


def steps_to(run: Run, target: float) -> int | None:
    return next((s for s, v in zip(run.train_steps, run.train_loss) if v <= target), None)


def status(run: Run) -> str:
    if run.diverged:
        return " (diverged)"
    if run.error:
        return " (failed)"
    return "" if run.has_metrics else " (missing: no metrics)"


def _number(value: float) -> str:
    return f"{value:,.0f}" if math.isfinite(value) else "—"


def summary_table(runs: list[Run], target_loss: float) -> str:
    lines = [f"| run | final val ppl | best val ppl | steps to train loss ≤ {target_loss:g} | wall time (s) | "
             "tokens/s | peak memory (MB) |", "|---|---|---|---|---|---|---|"]
    for run in runs:
        final = run.val_ppl[-1] if run.val_ppl else math.nan
        finite = [v for v in run.val_ppl if math.isfinite(v)]
        best = min(finite) if finite else math.nan
        reached = steps_to(run, target_loss)
        lines.append(f"| {run.label}{status(run)} | {final:.1f} | {best:.1f} | "
                     f"{reached if reached is not None else '—'} | {run.wall_s:.0f} | {_number(run.tokens_per_s)} | "
                     f"{_number(run.peak_memory_mb)} |")
    return "\n".join(lines)


def figure(runs: list[Run]):
    """The training-loss and validation-perplexity panels side by side, one legend below both."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import LogFormatterSciNotation

    class PlainLog(LogFormatterSciNotation):
        """Matplotlib's choice of which log ticks to label, written plainly: 7, not 7×10^0."""

        def __call__(self, value, pos=None):
            return f"{value:g}" if super().__call__(value, pos) else ""

    columns = min(len(runs), 3) or 1
    rows = -(-len(runs) // columns)  # of the legend; the figure grows with them
    height = 4.5 + 0.2 * max(0, rows - 1)
    fig, (ax_loss, ax_ppl) = plt.subplots(1, 2, figsize=(12, height), dpi=100)
    handles = []  # one legend entry per run, its colour the same in both panels
    for k, run in enumerate(runs):
        color = f"C{k % 10}"
        finite = [(s, v) for s, v in zip(run.train_steps, run.train_loss) if math.isfinite(v)]
        if finite:
            ax_loss.plot(*zip(*finite), color=color, linewidth=1)
        points = [(s, v) for s, v in zip(run.val_steps, run.val_ppl) if math.isfinite(v)]
        if points:
            ax_ppl.plot(*zip(*points), color=color, marker="o")
        handles.append(Line2D([], [], color=color, marker="o" if points else None, label=run.label + status(run)))
    # log scale: a run that starts at a huge loss (SGD momentum at a high rate) leaves the others readable
    ax_loss.set(xlabel="step", ylabel="train loss (token NLL)", title="training loss", yscale="log")
    ax_ppl.set(xlabel="step", ylabel="validation perplexity", title="validation perplexity", yscale="log")
    for ax in (ax_loss, ax_ppl):
        ax.grid(alpha=0.3)
        ax.yaxis.set_major_formatter(PlainLog())
        ax.yaxis.set_minor_formatter(PlainLog(labelOnlyBase=False))
    if handles:
        fig.legend(handles=handles, loc="lower center", ncol=columns, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, (0.1 + 0.2 * rows) / height, 1, 1))  # the legend's rows below the panels
    return fig


def plot(runs: list[Run], out: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    fig = figure(runs)
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = [out.with_suffix(".png"), out.with_suffix(".svg")]
    for path in paths:
        fig.savefig(path)
    plt.close(fig)
    return paths
