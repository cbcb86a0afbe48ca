"""Cleaning rules, the one place that decides what text a model sees.

Per verse line, in order:
1. punctuation to one full-width convention: , . ? ! ; : 、 -> ，。？！；：，
2. editorial notes removed: `（一作…）` / `(…)` / `〖…〗`;
3. characters supplied by editors unwrapped: `[爽]` -> `爽` (the character belongs to the verse);
4. quotation and title marks dropped: 《》「」『』〈〉“”‘’ and spaces.
A poem is dropped, with the reason, when it has lost characters (`□`, `●`, `○`, or a glyph spelled
out as `{…}`), any other non-Han character after the rules above, or no text at all.
"""

import re

from lit_poetry.data.corpora import Poem
from lit_poetry.text import PUNCTUATION, has_non_poetry

_HALF_TO_FULL = str.maketrans({",": "，", ".": "。", "?": "？", "!": "！", ";": "；", ":": "：", "、": "，"})
# a note may open half-width and close full-width, span verse lines, or run to the end unclosed
_NOTES = re.compile(r"[（(][^（()）]*(?:[）)]|$)|〖[^〗]*〗")
_SUPPLIED = re.compile(r"\[([^\]]*)\]")
_MARKS = re.compile(r"[《》「」『』〈〉“”‘’ \t\u3000]")
_LOST = re.compile(r"[□●○{}]")


def clean_line(line: str) -> str:
    """Rules 1-4 on one verse line."""
    line = line.translate(_HALF_TO_FULL)
    line = _NOTES.sub("", line)
    line = _SUPPLIED.sub(r"\1", line)
    return _MARKS.sub("", line)


def clean_poem(poem: Poem) -> tuple[Poem | None, str]:
    """(cleaned poem, "") or (None, reason) with reason in {"empty", "lost_chars", "non_han"}."""
    # joined with newlines so that a note spanning verse lines is removed whole
    lines = tuple(c for c in clean_line("\n".join(poem.lines)).split("\n") if c)
    text = "".join(lines)
    if not text.strip(PUNCTUATION):
        return None, "empty"
    if _LOST.search(text):
        return None, "lost_chars"
    if has_non_poetry(text):
        return None, "non_han"
    return Poem(poem.title, poem.author, lines), ""
