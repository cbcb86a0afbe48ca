"""The English and Chinese READMEs give the same commands, so they cannot drift apart."""

import re

from .helpers import ROOT


def commands(path) -> list[str]:
    """Every line of the ```bash blocks, without its trailing comment (the comments are translated)."""
    blocks = re.findall(r"```bash\n(.*?)```", path.read_text(encoding="utf-8"), re.S)
    lines = [re.sub(r"\s+#.*$", "", line).rstrip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line]


def test_both_readmes_give_the_same_commands():
    english, chinese = commands(ROOT / "README.md"), commands(ROOT / "README.zh-CN.md")
    assert len(english) > 20
    assert chinese == english


def test_each_readme_links_the_other_at_the_top():
    assert "[简体中文](README.zh-CN.md)" in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()[2]
    assert "[English](README.md)" in (ROOT / "README.zh-CN.md").read_text(encoding="utf-8").splitlines()[2]


def modules() -> list[str]:
    """Every module and subpackage of lit_poetry, as `name.py` or `name/` (the entry points aside)."""
    package = ROOT / "lit_poetry"
    found = [p.name for p in package.glob("*.py") if not p.name.startswith("__")]
    found += [p.name + "/" for p in package.iterdir() if (p / "__init__.py").is_file()]
    found += [p.name for p in (package / "models").glob("*.py") if not p.name.startswith("__")]
    return sorted(found)


def test_the_layout_and_the_layers_name_every_module():
    """#37: a module with no layer, or missing from the README's Layout, is a house without a plan."""
    layers = (ROOT / ".importlinter").read_text(encoding="utf-8").split("layers =")[1].split("[")[0]
    for readme in ("README.md", "README.zh-CN.md"):
        text = (ROOT / readme).read_text(encoding="utf-8")
        layout = text[text.index("```\nlit_poetry/text.py") :].split("\n```")[0]
        missing = [m for m in modules() if not re.search(rf"(?<!\w){re.escape(m)}", layout)]  # not in fused_lstm.py
        assert not missing, f"{readme}'s Layout lacks {missing}"
    unlayered = [m for m in modules() if "/" in m or (ROOT / "lit_poetry" / m).is_file()]
    unlayered = [m for m in unlayered if f"lit_poetry.{m.removesuffix('.py').rstrip('/')}" not in layers
                 and not (ROOT / "lit_poetry/models" / m).is_file()]
    assert not unlayered, f".importlinter's layers lack {unlayered}"
