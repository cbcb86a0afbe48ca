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
