"""Numeric settings: every value either runs or is refused in one line naming the key and its range."""

import copy
import math

import pytest
import torch
from hydra.utils import instantiate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from lit_poetry.errors import LitPoetryError
from lit_poetry.models.build import build_network
from lit_poetry.settings import RANGES, check_settings

from .helpers import compose_train, run_cli

VALUES = st.one_of(st.integers(-3, 40), st.floats(-1.5, 1.5), st.sampled_from([float("nan"), float("inf")]))
KEYS = ["model.hidden_size", "model.embedding_dim", "model.num_layers", "model.dropout", "model.input_dropout",
        "model.embedding_dropout", "model.weight_dropout", "optimizer.lr", "optimizer.weight_decay"]


@pytest.fixture(scope="module")
def composed(tmp_path_factory):
    """The training config, composed once: Hydra's compose costs half a second, and each example takes a copy."""
    return compose_train(tmp_path_factory.mktemp("settings"))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(KEYS), value=VALUES)
def test_a_model_or_optimizer_setting_runs_or_is_refused_in_one_line(key, value, composed):
    cfg = copy.deepcopy(composed)
    section, name = key.split(".")
    cfg[section][name] = value
    try:
        check_settings(cfg)
    except LitPoetryError as error:
        fraction = RANGES[key].integer and isinstance(value, float) and math.isfinite(value)
        what = "is not a whole number" if fraction else "is out of range"
        assert str(error).startswith(f"{key}={value} {what}: give ") and "\n" not in str(error)
        return
    # accepted: one training step of the model with it runs and gives finite numbers
    fused = {**OmegaConf.to_container(cfg.model), "_target_": "lit_poetry.models.lstm_lm.FusedLSTMLM"}
    model = build_network(fused, 30)
    opt = instantiate(cfg.optimizer)(params=model.parameters())
    ids = torch.randint(4, 30, (2, 6))
    loss, _, _ = model.loss(ids, ids, 0)
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)


@pytest.mark.parametrize(("args", "message"), [
    (["train.py", "model.hidden_size=-5"], "model.hidden_size=-5 is out of range: give a whole number ≥ 1"),
    (["train.py", "data.batch_size=0"], "data.batch_size=0 is out of range: give a whole number ≥ 1"),
    (["generate.py", "top_p=1.5"], "top_p=1.5 is out of range: give a number in (0, 1]"),
    (["generate.py", "temperature=-1"], "temperature=-1 is out of range: give a number ≥ 0"),
    (["-m", "lit_poetry", "evaluate", "batch_size=0"], "batch_size=0 is out of range"),
    (["generate.py", "num_samples=100000"], "num_samples=100000 is out of range: give a whole number in [1, 200]"),
    (["generate.py", "num_samples=2.5"], "num_samples=2.5 is not a whole number: give a whole number in [1, 200]"),
    (["generate.py", "num_samples=2.0"], "num_samples=2.0 is not a whole number: give a whole number in [1, 200]"),
    (["generate.py", "start=[日,红,山]", "num_samples=100"], "3 start words x num_samples=100 ask for 300 poems"),
    (["generate.py", "max_len=100000"], "max_len=100000 is out of range: give a whole number in [1, 512]"),
    (["train.py", "optimizer.lr=abc"], "optimizer.lr=abc is not a number: give a number > 0"),
    (["generate.py", "--start", "月", "form=wujue"], "--start: settings are written key=value, here start=月"),
    (["train.py", "--max_epochs=3"], "--max_epochs: settings are written key=value, here trainer.max_epochs=3"),
    (["generate.py", "--start", "--form", "wujue"], "--start: settings are written key=value, here start=..."),
])
def test_the_commands_refuse_impossible_settings_before_any_work(args, message):
    run = run_cli(*args)
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip() == f"error: {message}" or (run.stderr.startswith(f"error: {message}")
                                                         and len(run.stderr.strip().splitlines()) == 1), run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_hydras_own_flags_pass_through_untouched():
    """config_keys.HYDRA_FLAGS is the list of Hydra's long options that check_flags lets through (--help,
    --multirun, ...): a flag Hydra adds must join it, or `--that-flag` would be refused as a setting."""
    from hydra._internal.utils import get_args_parser

    from lit_poetry.config_keys import HYDRA_FLAGS

    hydras = {o.removeprefix("--") for a in get_args_parser()._actions for o in a.option_strings if o.startswith("--")}
    assert set(HYDRA_FLAGS) == hydras


def test_training_refuses_a_setting_before_importing_lightning():
    """#37: the refusal took 13.7 s when it waited for Lightning's import."""
    import subprocess
    import sys
    code = ("import sys; sys.argv = ['train.py', 'model.hidden_size=-5']\n"
            "from lit_poetry.commands.train import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('lightning' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "out of range" in run.stderr and run.stdout.strip() == "False", run.stdout + run.stderr


def test_a_refused_rerun_leaves_the_run_folder_as_it_was(tmp_path):
    """#41: `optimizer.lr=nan hydra.run.dir=<run>` overwrote the run's .hydra/config.yaml and overrides.yaml."""
    hydra_dir = tmp_path / "run" / ".hydra"
    hydra_dir.mkdir(parents=True)
    earlier = {name: f"the earlier run's {name}\n" for name in ("config.yaml", "overrides.yaml", "hydra.yaml")}
    for name, text in earlier.items():
        (hydra_dir / name).write_text(text)
    run = run_cli("train.py", "optimizer.lr=nan", f"hydra.run.dir={tmp_path / 'run'}")
    assert run.returncode == 2 and run.stderr.strip() == "error: optimizer.lr=nan is out of range: give a number > 0"
    assert {p.name: p.read_text() for p in hydra_dir.iterdir()} == earlier


@pytest.mark.parametrize(("args", "nearest"), [
    (["train.py", "optimzer=adam"], "did you mean optimizer?"),
    (["train.py", "model.hidden_sise=256"], "did you mean model.hidden_size"),
    (["train.py", "optimizer=adma"], "did you mean adam or adamw?"),
    (["train.py", "callbacks.sample_poems.start=月"], "did you mean callbacks.sample_poems.starts?"),
    (["generate.py", "strat=月"], "did you mean start?"),
    (["-m", "lit_poetry", "evaluate", "splt=val"], "did you mean split?"),
    (["train.py", "model=transformer", "model.hidden_size=256"], "model=transformer has no such setting"),
    (["train.py", "model=lstm", "model.num_heads=4"], "did you mean model.num_layers?"),
    (["train.py", "model.impl=fused"], "model.impl is gone; the network is a config group now: model=lstm"),
    (["train.py", "model.num_heads=4"], "model=lstm has no such setting"),  # the default choice
])
def test_a_typo_in_a_key_or_an_option_is_one_line_naming_the_nearest(args, nearest):
    """#41: Hydra's block advised `+optimzer=adam`, wrong for a typo."""
    run = run_cli(*args)
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert run.stderr.startswith("error: ") and nearest in run.stderr


def test_a_setting_of_the_network_an_experiment_chooses_passes():
    """experiment=tang_best chooses model=fused_lstm, whose step_kernel the default model=lstm lacks: Hydra decides."""
    run = run_cli("train.py", "experiment=tang_best", "model.step_kernel=false", "--cfg", "job")
    assert run.returncode == 0 and "step_kernel: false" in run.stdout, run.stderr


def test_every_key_and_option_the_configs_define_passes_the_typo_check():
    """The check knows what Hydra knows: every group option, and every key of a composed config."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from lit_poetry.config_keys import check_override_keys, known
    from lit_poetry.resources import CONFIG_DIR

    for command in ("train", "generate", "evaluate", "export", "stats", "app"):
        _, options = known(command)
        check_override_keys(command, [f"{group}={o}" for group, choices in options.items() for o in choices])
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            for experiment in (options.get("experiment") or (None,)):
                cfg = compose(command, overrides=[f"experiment={experiment}"] if experiment else [])
                flat = OmegaConf.to_container(cfg, resolve=False)
                paths = list(key_paths({k: v for k, v in flat.items() if k != "hydra"}))
                chosen = [f"experiment={experiment}"] if experiment else []  # its keys, under its choices
                check_override_keys(command, chosen + [f"{p}=1" for p in paths if p not in options])


def key_paths(node: dict, prefix: str = ""):
    for k, v in node.items():
        yield prefix + str(k)
        if isinstance(v, dict):
            yield from key_paths(v, f"{prefix}{k}.")


@pytest.mark.parametrize("argv", [
    ["-m", "optimizer=glob(*)"], ["logger=[csv]"], ["logger=[]"], ["optimizer=choice(adam)"], ["optimizer=adam,sgd"],
    ["tags.0=prod"], ["-sc", "install=bash"], ["-cn", "other", "anything=1"], ["hydra.searchpath=[file://x]", "new=1"],
    ["~callbacks.sample_poems"], ["+new_key=1"], ["hydra/launcher=slurm"], ["scheduler=null"],
])
def test_the_typo_check_leaves_what_hydra_reads_otherwise_to_hydra(argv):
    from lit_poetry.config_keys import check_override_keys

    check_override_keys("train", argv)


def test_validation_every_n_steps_instead_of_epochs_is_accepted(tmp_path):
    """Lightning's check_val_every_n_epoch=None with an int val_check_interval: validate every n steps across
    epochs (a run whose epoch is longer than its budget)."""
    cfg = compose_train(tmp_path, ["trainer.check_val_every_n_epoch=null", "+trainer.val_check_interval=500"])
    check_settings(cfg)
    cfg.trainer.check_val_every_n_epoch = 0
    with pytest.raises(LitPoetryError, match="trainer.check_val_every_n_epoch=0 is out of range"):
        check_settings(cfg)
