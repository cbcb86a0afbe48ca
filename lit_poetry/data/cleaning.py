"""Cleaning rules, the one place that decides what text a model sees.

Per verse line, in order:
1. punctuation to one full-width convention: , . ? ! ; : 、 -> ，。？！；：，
2. footnote markers dropped: `[一]`, `[二十]` (宁知猗[一]梧凤 is not 宁知猗一梧凤);
3. editorial notes removed: `（一作…）` / `(…)` / `〖…〗`;
4. characters supplied by editors unwrapped: `[爽]` -> `爽` (the character belongs to the verse);
5. quotation and title marks dropped: 《》「」『』〈〉“”‘’ and spaces;
6. variant characters to their standard form: 疎 -> 疏, 劒 -> 剑 (lit_poetry/variants.py, shared with the metre);
7. a run of punctuation keeps its first mark (a note closing `…）。` after a verse's `。` left `。。`), and a
   line left with punctuation only is dropped, and no line begins with one.
A poem is dropped, with the reason, when it has lost characters (`□`, `●`, `○`, or a glyph spelled
out as `{…}`), any other non-Han character after the rules above, editors' prose (以上各句见…卷二十八,
a preface naming 全唐诗), or no text at all.

Titles (`clean_title`) lose their notes, marks and numbering: 秋日二首 一 -> 秋日, 杂曲歌辞 轻薄篇 -> 轻薄篇.
"""

import re

from lit_poetry.data.corpora import Poem
from lit_poetry.text import PUNCTUATION, has_non_poetry
from lit_poetry.variants import standard_form

_HALF_TO_FULL = str.maketrans({",": "，", ".": "。", "?": "？", "!": "！", ";": "；", ":": "：", "、": "，"})
_NUMERAL = "一二三四五六七八九十百千○〇零"
_FOOTNOTES = re.compile(rf"\[[{_NUMERAL}]+\]")
# a note may open half-width and close full-width, span verse lines, or run to the end unclosed
_NOTES = re.compile(r"[（(][^（()）]*(?:[）)]|$)|〖[^〗]*〗")
_SUPPLIED = re.compile(r"\[([^\]]*)\]")
_MARKS = re.compile(r"[《》「」『』〈〉“”‘’ \t\u3000]")
_PUNCTUATION_RUN = re.compile(f"([{PUNCTUATION}])[{PUNCTUATION}]+")
_LOST = re.compile(r"[□●○{}]")
# what editors write and poets do not: the book's name, its sources, "the lines above are found in 卷…"
_EDITORIAL = re.compile(rf"全唐诗|诗纪事|四部丛刊|录自|校录|以上[各均]|见[^，。]{{0,12}}卷[{_NUMERAL}]+")


LINE_RULES = {  # rules 1-7, in order (scripts/cleaning_counts.py counts what each one changes)
    "punctuation": lambda line: line.translate(_HALF_TO_FULL),
    "footnote markers": lambda line: _FOOTNOTES.sub("", line),
    "editorial notes": lambda line: _NOTES.sub("", line),
    "supplied characters": lambda line: _SUPPLIED.sub(r"\1", line),
    "quotation and title marks": lambda line: _MARKS.sub("", line),
    "variant characters": standard_form,
    "punctuation runs": lambda line: _PUNCTUATION_RUN.sub(r"\1", line),
}


def clean_line(line: str) -> str:
    """Rules 1-7 on one verse line (or several, joined by newlines)."""
    for rule in LINE_RULES.values():
        line = rule(line)
    return line


def clean_poem(poem: Poem) -> tuple[Poem | None, str]:
    """(cleaned poem, "") or (None, reason) with reason in {"empty", "lost_chars", "non_han", "editorial"}."""
    # joined with newlines so that a note spanning verse lines is removed whole
    lines = clean_line("\n".join(poem.lines)).split("\n")
    lines = tuple(line.lstrip(PUNCTUATION) for line in lines if line.strip(PUNCTUATION))  # no verse begins with one
    text = "".join(lines)
    if not text:
        return None, "empty"
    if _LOST.search(text):
        return None, "lost_chars"
    if has_non_poetry(text):
        return None, "non_han"
    if _EDITORIAL.search(text):
        return None, "editorial"
    return Poem(clean_title(poem.title), poem.author, lines), ""


_TITLE_NUMBERING = re.compile(rf"^(其?[{_NUMERAL}]+|[{_NUMERAL}]+首)$")
_TITLE_COUNT = re.compile(rf"[{_NUMERAL}]+首$")
TITLE_MAX_LEN = 16  # a title's first characters name its theme; 纶与吉侍郎中孚…五十韵见寄 runs past 100


def clean_title(title: str) -> str:
    """A poem's theme as a short string of Han characters: notes, marks, numbering and category dropped.

    秋日二首 一 -> 秋日; 杂曲歌辞 轻薄篇二首 一 -> 轻薄篇; 和微之诗二十三首 和寄问 -> 和微之诗和寄问."""
    title = _NOTES.sub("", title.translate(_HALF_TO_FULL))
    title = standard_form(re.sub(r"[《》「」『』〈〉“”‘’\[\]]", "", title))
    parts = [p for p in re.split(r"[\s\u3000，。？！；：·・]+", title) if p]
    if len(parts) > 1 and parts[0].endswith(("歌辞", "曲辞")):  # 乐府's category, not this poem's theme
        parts = parts[1:]
    parts = [_TITLE_COUNT.sub("", p) for p in parts if not _TITLE_NUMBERING.match(p)]
    title = "".join(p for p in parts if p)
    return "" if has_non_poetry(title) else title[:TITLE_MAX_LEN]
