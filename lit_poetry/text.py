"""Text conventions every part shares: punctuation, Han characters, verse lines and the regular forms.

Cleaning writes text in this convention, generation writes it, evaluation and the metre checker read it.
"""

import functools
import re

PUNCTUATION = "，。？！；："  # the one convention the corpora are cleaned to
LINE_END = "。？！；"  # punctuation that ends a sentence (splitting, truncating, closing a poem)
HAN_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"  # CJK ideographs, ext. A-G
_NOT_POETRY = re.compile(f"[^{HAN_RANGES}{PUNCTUATION}]")

# 五言/七言 绝句/律诗: (characters per line, lines); odd lines end in ，, even lines close the couplet
FORMS = {"wujue": (5, 4), "qijue": (7, 4), "wulv": (5, 8), "qilv": (7, 8)}
FORM_NAMES = {"wujue": "五言绝句", "qijue": "七言绝句", "wulv": "五言律诗", "qilv": "七言律诗"}
COUPLET_END = "。？！"  # what may close an even line of a regular poem
TITLE_MARKS = "《》"  # a title between them heads a poem in training and generation; cleaning drops them from verse


def title_header(title: str) -> str:
    """What a poem titled `title` begins with: 《秋夜》."""
    return f"{TITLE_MARKS[0]}{title}{TITLE_MARKS[1]}"


@functools.cache
def _opencc(config: str):
    import opencc  # the C++ converter loads its dictionaries once, and only when needed

    return opencc.OpenCC(config)


def to_simplified(text: str) -> str:
    """Traditional -> simplified Chinese with OpenCC's `t2s` table (how the corpora were converted)."""
    return _opencc("t2s").convert(text)


def to_traditional(text: str) -> str:
    """Simplified -> traditional Chinese with OpenCC's `s2t` table (for readers who prefer it)."""
    return _opencc("s2t").convert(text)


def verse_to_traditional(poem: str) -> str:
    """`to_traditional` for a poem. OpenCC makes a 干 that no phrase of its table decides (阑干, 江干 are
    decided) 幹, gàn, a 仄 reading; at the end of a line, where the rhyme falls, verse means 乾 (dry, 平:
    海棠干, 泪干)."""
    return re.sub(f"幹(?=[{PUNCTUATION}]|$)", "乾", to_traditional(poem))


def is_han(char: str) -> bool:
    return _NOT_POETRY.match(char) is None and char not in PUNCTUATION


def has_non_poetry(text: str) -> bool:
    """True when `text` holds anything but Han characters and the convention's punctuation."""
    return _NOT_POETRY.search(text) is not None


def line_end(line_index: int) -> str:
    """The mark generation writes after verse line `line_index` (0-based) of a regular poem."""
    return "，" if line_index % 2 == 0 else "。"


def split_lines(poem: str) -> list[str]:
    """Verse lines (句): a line ends at any punctuation mark, which stays with it."""
    lines, current = [], ""
    for char in poem:
        current += char
        if char in PUNCTUATION:
            lines.append(current)
            current = ""
    return lines + ([current] if current else [])


def verse_lines(poem: str) -> list[str]:
    """Lines of a poem without their punctuation."""
    return [line.rstrip(PUNCTUATION) for line in split_lines(poem) if line.rstrip(PUNCTUATION)]


def nearest_form(poem: str, start: str = "", acrostic: str = "") -> str | None:
    """The regular form closest to a free poem's shape: 五言 if its first line has at most 5 characters,
    else 七言; 绝句 up to 6 lines, else 律诗. An acrostic's heads set the line count instead (绝句 up to 4,
    律诗 up to 8, more: no form); start words longer than a line rule out the shorter line (longer than 7:
    no form)."""
    lines, start = verse_lines(poem), verse_lines(start)[0] if verse_lines(start) else ""
    chars = 5 if lines and len(lines[0]) <= 5 and len(start) <= 5 else 7
    count = (4 if len(acrostic) <= 4 else 8) if acrostic else (4 if len(lines) <= 6 else 8)
    if len(acrostic) > 8 or len(start) > chars:
        return None
    return next(form for form, shape in FORMS.items() if shape == (chars, count))


def is_regular(poem: str, form: str | None = None) -> bool:
    """Couplets of 5 or 7 characters a line (of `form`'s size and line count when given), odd lines ending
    in ，and even lines in 。？！."""
    lines = split_lines(poem)
    if len(lines) < 2 or len(lines) % 2 or any(line[-1] not in PUNCTUATION for line in lines):
        return False
    sizes = {len(line) - 1 for line in lines}
    allowed = {FORMS[form][0]} if form else {chars for chars, _ in FORMS.values()}
    if form and len(lines) != FORMS[form][1]:
        return False
    ends_ok = all(line[-1] == "，" if k % 2 == 0 else line[-1] in COUPLET_END for k, line in enumerate(lines))
    return len(sizes) == 1 and sizes <= allowed and ends_ok
