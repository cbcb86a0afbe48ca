"""Every Hydra command composes and resolves its whole config (`--cfg job --resolve`), the project's
`${lit_poetry.*:}` interpolations included, before any work starts."""

import pytest

from .helpers import run_cli


@pytest.mark.parametrize("command", [["train.py"], ["train.py", "experiment=tang_best"],
                                     ["train.py", "hydra/launcher=slurm", "trainer=ddp"], ["generate.py"],
                                     ["app.py"], ["-m", "lit_poetry", "evaluate"], ["-m", "lit_poetry", "export"],
                                     ["-m", "lit_poetry", "stats"]])
def test_the_command_resolves_its_config(command):
    run = run_cli(*command, "--cfg", "job", "--resolve")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "${" not in run.stdout  # every interpolation resolved
