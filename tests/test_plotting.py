import math
import os
import shutil
import struct
import subprocess
import sys

import pytest

from lit_poetry import plotting
from lit_poetry.commands import plot as plot_command

from .helpers import ROOT

pytestmark = pytest.mark.slow  # a real two-job multirun


@pytest.fixture(scope="module")
def multirun(tmp_path_factory):
    """`train.py -m experiment=optimizer_comparison optimizer=adam,sgd`, shrunk to a few steps."""
    out = tmp_path_factory.mktemp("multirun")
    env = {**os.environ, "WANDB_DIR": str(out)}
    run = subprocess.run(
        [sys.executable, "train.py", "-m", "experiment=optimizer_comparison", "optimizer=adam,sgd",
         "model.embedding_dim=16", "model.hidden_size=24", "trainer.max_epochs=2", "trainer.limit_train_batches=4",
         "trainer.limit_val_batches=2", "trainer.log_every_n_steps=1", "~callbacks.sample_poems",
         "trainer.enable_progress_bar=false", "~callbacks.rich_progress_bar", f"hydra.sweep.dir={out}",
         f"paths.cache_dir={out / 'cache'}"],
        cwd=ROOT, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    return out


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def table_rows(text):
    return [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()[2:]]


def test_plot_and_table_hold_both_runs(multirun, capsys):
    assert plot_command.main([str(multirun)]) == 0
    assert png_size(multirun / "comparison.png") == (1200, 450)
    assert (multirun / "comparison.svg").read_text().lstrip().startswith("<?xml")
    rows = table_rows((multirun / "comparison.md").read_text())
    assert [r[0] for r in rows] == ["optimizer=adam", "optimizer=sgd"]
    for row in rows:
        assert all(math.isfinite(float(v)) for v in (row[1], row[2], row[4]))
        tokens_per_s, peak_mb = (float(v.replace(",", "")) for v in row[5:7])
        assert tokens_per_s > 0 and 50 < peak_mb < 64_000  # a training process's resident size, in MB
    assert "optimizer=adam" in capsys.readouterr().out


def test_runs_with_the_same_overrides_are_labelled_by_folder(multirun, tmp_path):
    for name in ("strong", "mild"):  # e.g. one experiment before and after its config changed
        shutil.copytree(multirun / "0", tmp_path / name, ignore=shutil.ignore_patterns("wandb"))
    runs = plotting.find_runs(tmp_path)
    assert [r.label for r in runs] == ["mild", "strong"]


def test_labels_leave_out_what_does_not_change_the_run(multirun, tmp_path):
    for name, extra in (("tang_best", ""), ("wide", "- model.hidden_size=768\n")):
        shutil.copytree(multirun / "0", tmp_path / name, ignore=shutil.ignore_patterns("wandb"))
        (tmp_path / name / ".hydra" / "overrides.yaml").write_text(
            f"- experiment=tang_best\n{extra}- trainer.enable_progress_bar=false\n- ~callbacks.rich_progress_bar\n"
            "- ckpt_path=logs/tang_best/checkpoints/last.ckpt\n")
    assert [plotting.read_run(tmp_path / name).label for name in ("tang_best", "wide")] == [
        "experiment=tang_best", "experiment=tang_best,model.hidden_size=768"]


def test_runs_of_two_experiments_or_two_starts_get_labels_of_their_own(multirun, tmp_path):
    """#41: experiment= was left out, and two different runs shared one label (ckpt_path= still is: resuming
    a run does not change it, so a run started from another's checkpoint is told apart by its folder)."""
    runs = {"a": "experiment=tang_best", "b": "experiment=tang_large",
            "c": "experiment=tang_large\n- ckpt_path=logs/a/checkpoints/best.ckpt"}
    for name, overrides in runs.items():
        shutil.copytree(multirun / "0", tmp_path / name, ignore=shutil.ignore_patterns("wandb"))
        (tmp_path / name / ".hydra" / "overrides.yaml").write_text(f"- {overrides}\n- ++trainer.max_epochs=1\n")
    labels = [r.label for r in plotting.find_runs(tmp_path)]
    name = tmp_path.name
    assert labels == ["experiment=tang_best", f"experiment=tang_large ({name}/b)", f"experiment=tang_large ({name}/c)"]


def test_the_figure_has_one_legend_below_plain_ticks_and_steps_on_both_panels(multirun):
    fig = plotting.figure(plotting.find_runs(multirun))
    fig.canvas.draw()
    assert len(fig.legends) == 1 and all(ax.get_legend() is None for ax in fig.axes)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["optimizer=adam", "optimizer=sgd"]
    legend_top = fig.legends[0].get_window_extent().y1
    assert all(ax.get_window_extent().y0 > legend_top for ax in fig.axes)  # covers neither panel
    for ax in fig.axes:
        texts = [t.get_text() for t in ax.get_yticklabels() + ax.get_yticklabels(minor=True) if t.get_text()]
        assert texts and not any("times" in t or "^" in t for t in texts), texts
    assert [ax.get_xlabel() for ax in fig.axes] == ["step", "step"]  # validations mid-epoch stack on no epoch
    last_val, last_step = fig.axes[1].lines[0].get_xdata()[-1], plotting.find_runs(multirun)[0].train_steps[-1]
    assert last_step - 1 <= last_val <= last_step + 1  # the end of training, where it was measured


def test_diverged_and_missing_runs_are_named_and_the_rest_drawn(multirun, tmp_path, capsys):
    root = tmp_path / "sweep"
    shutil.copytree(multirun, root, ignore=shutil.ignore_patterns("wandb", "comparison.*"))
    adam = root / "0"
    diverged = root / "2"
    shutil.copytree(adam, diverged)
    overrides = diverged / ".hydra" / "overrides.yaml"
    overrides.write_text(overrides.read_text().replace("optimizer=adam", "optimizer=momentum"))
    with open(diverged / "csv" / "metrics.csv", "a") as f:  # a NaN loss row after the finite ones
        f.write("1,,9,,nan,,,,\n")
    (diverged / "error.json").write_text('{"type": "DivergedError", "message": "train loss is nan at step 9"}')
    missing = root / "3"
    (missing / ".hydra").mkdir(parents=True)
    (missing / ".hydra" / "overrides.yaml").write_text(overrides.read_text().replace("momentum", "adagrad"))

    assert plot_command.main([str(root), f"out={tmp_path / 'fig'}"]) == 0
    out = capsys.readouterr().out
    assert "optimizer=momentum (diverged)" in out and "optimizer=adagrad (missing: no metrics)" in out
    assert png_size(tmp_path / "fig.png") == (1200, 450)
    rows = {r[0]: r for r in table_rows((tmp_path / "fig.md").read_text())}
    assert math.isfinite(float(rows["optimizer=adam"][2])) and math.isfinite(float(rows["optimizer=sgd"][2]))


def test_folder_without_metrics_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "0" / ".hydra").mkdir(parents=True)
    with pytest.raises(SystemExit) as stop:
        plot_command.main([str(tmp_path)])
    assert stop.value.code == 2 and "error: no run under" in capsys.readouterr().err
