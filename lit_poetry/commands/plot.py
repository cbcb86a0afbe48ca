"""Curves of several runs in one figure, from their local CSV metrics, and a summary table
(lit_poetry/plotting.py).

    python -m lit_poetry plot logs/optimizer_comparison/multiruns/<date>            # all runs below it
    python -m lit_poetry plot <dir> target_loss=5.5 out=docs/figures/optimizers

Each run is a folder with csv/metrics.csv (the CSV logger); its label is its Hydra overrides less
those every run shares (`optimizer=adam`), with its folder where two runs would share one; loss and
validation perplexity against the step, one legend below both. Writes <out>.png, <out>.svg and <out>.md
(the table) and prints the table. Runs without metrics are reported as missing, runs whose loss became NaN/inf as
diverged; the others are drawn either way. Installed, the same command is `lit-poetry-plot`.
"""

from pathlib import Path

from lit_poetry.cli import KeyValueParser, guarded, parse_arguments
from lit_poetry.errors import LitPoetryError


@guarded
def main(argv=None) -> int:
    ap = KeyValueParser(description=__doc__)
    ap.add_argument("root", type=Path, help="a multirun folder (or any folder holding run folders)")
    ap.add_argument("--out", type=Path, default=None, help="output path without suffix (default: <root>/comparison)")
    ap.add_argument("--target-loss", type=float, default=6.0)
    args = parse_arguments(ap, argv)
    if not args.root.is_dir():
        raise LitPoetryError(f"{args.root} is not a folder")
    from lit_poetry.plotting import find_runs, plot, status, summary_table

    runs = find_runs(args.root)
    if not runs:
        raise LitPoetryError(f"no run folder (with .hydra/ or csv/) under {args.root}")
    table = summary_table(runs, args.target_loss)
    print(table)
    for run in runs:
        if run.error or not run.has_metrics:
            print(f"note: {run.label}{status(run)}" + (f": {run.error}" if run.error else ""))
    drawable = [run for run in runs if run.has_metrics]
    if not drawable:
        raise LitPoetryError(f"no run under {args.root} has csv/metrics.csv with metrics (is the CSV logger on?)")
    out = args.out or args.root / "comparison"
    paths = plot(drawable, out)
    out.with_suffix(".md").write_text(table + "\n", encoding="utf-8")
    print("wrote " + ", ".join(str(p) for p in [*paths, out.with_suffix(".md")]))
    return 0
