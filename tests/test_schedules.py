"""scheduler=cosine: a whole-step warm-up whatever the run's length, and a cosine that ends within the
time budget on a slow machine."""

import csv
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lit_poetry import schedules
from lit_poetry.errors import LitPoetryError
from lit_poetry.schedules import WarmupCosine, duration_seconds
from lit_poetry.training import train

from .helpers import compose_train

LR = 3e-3


def run(total_steps, warmup=0.05, budget=None, seconds_per_step=None, monkeypatch=None, steps=None):
    """The learning rates of `steps` (default: all) optimizer steps, with a fake clock if asked."""
    if seconds_per_step is not None:
        clock = iter(range(0, 10**9, 1)).__next__
        monkeypatch.setattr(schedules.time, "monotonic", lambda: clock() * seconds_per_step)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    sched = WarmupCosine(opt, total_steps, warmup=warmup, time_budget=budget)
    lrs = []
    for _ in range(total_steps if steps is None else steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return sched, lrs


@settings(max_examples=60, deadline=None)
@given(total=st.integers(2, 3000), warmup=st.floats(0, 0.9))
def test_warmup_is_whole_steps_and_the_cycle_ends_at_its_floor(total, warmup):
    sched, lrs = run(total, warmup)
    w = sched.warmup_steps
    assert 1 <= w <= total - 1 and isinstance(w, int)
    assert lrs[0] == pytest.approx(LR / 25)
    assert lrs[w] == pytest.approx(LR)  # the peak, right after the warm-up
    assert all(a <= b + 1e-15 for a, b in zip(lrs[:w], lrs[1 : w + 1]))  # rising
    assert all(a >= b - 1e-15 for a, b in zip(lrs[w:], lrs[w + 1 :]))  # then falling
    if total - 1 > w:
        assert lrs[-1] == pytest.approx(LR / 2.5e5)


def test_twenty_steps_warm_up_for_one(monkeypatch):
    """tang_best cut to 20 batches: 5% of 20 steps was a warm-up of zero length (ZeroDivisionError)."""
    sched, lrs = run(20, 0.05)
    assert sched.warmup_steps == 1 and all(math.isfinite(lr) for lr in lrs)


def test_the_cosine_follows_the_time_budget_where_it_is_ahead(monkeypatch):
    """1,000 steps planned, 1 s each, 200 s budget: the cycle ends by step ~200, when the guard stops."""
    _, lrs = run(1000, 0.01, budget=200, seconds_per_step=1.0, monkeypatch=monkeypatch, steps=260)
    assert lrs[100] < LR * 0.75  # by steps it would still be at ~98% of its peak
    assert lrs[205] == pytest.approx(LR / 2.5e5)
    assert lrs[259] == pytest.approx(LR / 2.5e5)  # held at the floor
    _, by_steps = run(1000, 0.01)
    _, fast = run(1000, 0.01, budget=10_000, seconds_per_step=1.0, monkeypatch=monkeypatch)
    assert fast == pytest.approx(by_steps)  # a budget that the steps beat changes nothing


def test_elapsed_time_travels_in_the_checkpoint_but_not_the_pause(monkeypatch):
    sched, _ = run(1000, 0.01, budget=200, seconds_per_step=1.0, monkeypatch=monkeypatch, steps=50)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    resumed = WarmupCosine(opt, 1000, warmup=0.01, time_budget=200)
    resumed.load_state_dict(sched.state_dict())
    assert resumed.elapsed == sched.elapsed and resumed.last_epoch == sched.last_epoch
    monkeypatch.setattr(schedules.time, "monotonic", lambda: 10**6)  # an hour-long pause, then a step
    resumed.step()
    assert resumed.elapsed == sched.elapsed


@pytest.mark.parametrize("total", [1, 0, math.inf])
def test_a_run_too_short_or_endless_for_the_cycle_is_one_clear_error(total):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    with pytest.raises(LitPoetryError, match="at least 2 steps"):
        WarmupCosine(opt, total)


@pytest.mark.parametrize(("value", "seconds"), [("00:01:12:00", 4320), ({"hours": 1}, 3600), (None, None)])
def test_durations_read_as_trainer_max_time(value, seconds):
    assert duration_seconds(value) == seconds
    with pytest.raises(LitPoetryError, match="DD:HH:MM:SS"):
        duration_seconds("72 minutes")


def test_a_three_step_run_with_the_cosine_trains(tmp_path):
    cfg = compose_train(tmp_path, ["scheduler=cosine", "trainer.limit_train_batches=3", "logger=csv",
                                   "trainer.max_time=00:00:10:00"])
    train(cfg)
    rows = list(csv.DictReader(open(tmp_path / "csv" / "metrics.csv")))
    assert any(r.get("train/loss_step") for r in rows)
