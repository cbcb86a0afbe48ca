"""`python app.py ...` (installed: `lit-poetry-app`, or `python -m lit_poetry app ...`): the local page to
write poems (lit_poetry/app.py, Gradio: pip install -e ".[web]"). Run commands: app.py's docstring."""

from omegaconf import DictConfig

from lit_poetry.cli import hydra_command
from lit_poetry.errors import LitPoetryError
from lit_poetry.settings import check_settings


@hydra_command("app")
def main(cfg: DictConfig) -> None:
    check_settings(cfg)
    try:
        from lit_poetry.app import serve
    except ModuleNotFoundError as e:
        raise LitPoetryError(f"the page needs Gradio ({e}): pip install -e \".[web]\"") from None
    serve(cfg)
