"""What makes one candidate line better than another, beyond the model's likelihood: the poem's own
conventions, shared by the search (search.py), which uses them while writing and when choosing, and by
the evaluation, which counts them in real poems and in the model's.

- repeats: 律诗忌重字. A character that comes back in a poem counts once per extra use, except a 叠字
  (the same character twice in a row, 依依, 萧萧), which is deliberate; three in a row count. The search
  lets only the characters real poems double come twice (not 何何, 独独).
- doubles: a 叠字 costs half a repeat, so it stays where the model wants it;
- seasons and hours: a poem keeps to one season and one time of day (dawn, noon, dusk, night), the one
  its title or mood prefix names if they name one; naming a second (春 夏 秋 冬, a festival: 清明 寒食
  重阳 ..., an image of one season: 桃花 柳絮 黄叶 白雪 ...; 晓 落日 夜 ...) counts as a change of scene.
- 对仗: the second line of a 律诗's middle couplet pairs with the first (parallelism.py).
"""

import functools
from dataclasses import dataclass

import torch

from lit_poetry.data.vocab import Vocabulary
from lit_poetry.parallelism import PairTable
from lit_poetry.text import PUNCTUATION, is_han, split_lines, verse_lines

# words that name a season: the season itself, its festivals, and a few of its unmistakable images
# (黄叶 is autumn's, 柳絮 spring's); how often real poems name two: the craft table of docs/results.md
SEASONS = {"春": ("春", "清明", "寒食", "上巳", "桃花", "杏花", "柳絮", "新柳"),
           "夏": ("夏", "端午", "荷花", "蝉鸣"),
           "秋": ("秋", "重阳", "中秋", "七夕", "黄叶", "落叶", "菊花", "霜叶"),
           "冬": ("冬", "腊", "岁暮", "白雪", "冰雪", "飞雪")}
# times of day: real 近体 poems name two (dusk and night, say) about 10 times less often than the model
HOURS = {"晓": ("晓", "清晨", "凌晨", "破晓", "朝阳", "朝日"), "午": ("日高", "日午", "正午", "亭午"),
         "暮": ("夕阳", "落日", "日暮", "黄昏", "斜阳", "残阳", "夕照", "日落", "暮"), "夜": ("夜", "三更", "五更")}
MIDDLE_SECOND_LINES = (3, 5)  # 0-based lines that close a 律诗's middle couplets


def repeats(text: str, table: PairTable | None = None) -> int:
    """Extra uses of characters in `text`, line by line, a 叠字 pair not counted: any pair, or with `table`
    only a pair real poems use there (PairTable.doubled within a line, doubled_end to end one: 悠悠 ends a
    line, 人人 never does)."""
    seen: set[str] = set()
    count = 0
    for line in split_lines(text):
        verse = line.rstrip(PUNCTUATION)
        for k, c in enumerate(verse):
            pair = k > 0 and verse[k - 1] == c and (k < 2 or verse[k - 2] != c)
            if pair and table is not None:
                ends = verse != line and k == len(verse) - 1
                pair = c in (table.doubled_end if ends else table.doubled)
            count += c in seen and not pair
            seen.add(c)
    return count


def doubles(text: str) -> int:
    """叠字 pairs in the text (the same character twice in a row within a line)."""
    return sum(v[k] == v[k - 1] for v in verse_lines(text) for k in range(1, len(v)))


def named(text: str, kinds: dict[str, tuple[str, ...]]) -> set[str]:
    """The kinds (seasons, hours) whose words the text holds."""
    return {kind for kind, words in kinds.items() if any(w in text for w in words)}


def seasons(text: str) -> int:
    """How many seasons the text names beyond the first (0: one season or none)."""
    return max(0, len(named(text, SEASONS)) - 1)


def hours(text: str) -> int:
    """How many times of day the text names beyond the first."""
    return max(0, len(named(text, HOURS)) - 1)


def closes_middle_couplet(line_index: int, n_lines: int) -> bool:
    return n_lines == 8 and line_index in MIDDLE_SECOND_LINES


@dataclass(frozen=True)
class Weights:
    """How much each convention weighs against the model's mean log-probability per character (the search's
    score), and how strongly it steers the sampling of each character (a shift of the logits)."""

    repeat: float = 1.0  # per repeated character, in mean log-probability
    double: float = 0.5  # per 叠字: allowed where real poems use it, still not free
    scene: float = 1.0  # per season or time of day beyond the first
    parallel: float = 0.5  # times the couplet's 对仗 score (mean pmi)
    repeat_logit: float = 3.0  # a used character's logit is lowered by this
    season_logit: float = 3.0  # another season's character, once the poem has one
    parallel_logit: float = 0.5  # times a partner's pmi (capped at 4) with the character it stands beside


def line_score(poem_so_far: str, line: str, logps: list[float], lines_before: list[str], n_lines: int,
               table: PairTable, w: Weights, head: str = "") -> float:
    """The search's score of a candidate `line` written after `poem_so_far` (its `lines_before`; `head`,
    the title and prefix read before the poem, sets the scene too): mean log-probability per character,
    minus what it adds in repeats, 叠字, seasons and times of day, plus its 对仗 with the line before when
    it closes a 律诗's middle couplet."""
    score = sum(logps) / max(len(logps), 1)
    after = poem_so_far + line
    score -= w.repeat * (repeats(after, table) - repeats(poem_so_far, table))
    score -= w.double * (doubles(after) - doubles(poem_so_far))
    scene, scene_after = head + poem_so_far, head + after
    score -= w.scene * (seasons(scene_after) + hours(scene_after) - seasons(scene) - hours(scene))
    if closes_middle_couplet(len(lines_before), n_lines) and lines_before:
        score += w.parallel * table.score(lines_before[-1], line)
    return score


@functools.lru_cache(maxsize=4)  # a few vocabularies at most; built in ~0.1 s, once per vocabulary
def partner_ids(table: PairTable, itos: tuple[str, ...], device: str) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """char -> (vocabulary ids of its 对仗 partners, their pmi capped at 4)."""
    stoi = {c: i for i, c in enumerate(itos)}
    out = {}
    for char in itos:
        if is_han(char):
            found = [(stoi[b], min(p, 4.0)) for b, p in table.partners(char).items() if b in stoi]
            if found:
                ids, pmi = zip(*found)
                out[char] = (torch.tensor(ids, device=device), torch.tensor(pmi, device=device))
    return out


class Steering:
    """Logit shifts (R, V) that lean each row's next character towards the conventions above."""

    def __init__(self, vocab: Vocabulary, table: PairTable, w: Weights, device: torch.device):
        self.vocab, self.w, self.device, self.table = vocab, w, device, table
        self.season_ids = {s: vocab.stoi[s] for s in SEASONS if s in vocab.stoi}  # the season's own character
        self.partners = partner_ids(table, tuple(vocab.itos), str(device))

    def shifts(self, texts: list[str], lines_before: list[list[str]], shapes: list[tuple[int, int] | None],
               heads: list[str] | None = None) -> torch.Tensor:
        """texts: each row's poem so far; lines_before: its completed lines; shapes: its (characters per
        line, lines) where the form is fixed, else None; heads: the title and prefix it was written after,
        whose season counts as the poem's -> (R, V) logit shifts."""
        heads = heads or [""] * len(texts)
        shift = torch.zeros(len(texts), len(self.vocab), device=self.device)  # (R, V)
        rows, ids, values = [], [], []  # (row, id, shift) entries, added in one call (one per entry is slow)
        done: dict[tuple, int] = {}  # rows that wrote the same text after the same lines shift alike
        copies: list[tuple[int, int]] = []
        for r, text in enumerate(texts):
            before, shape = lines_before[r], shapes[r]
            key = (text, len(before), shape, heads[r])
            if key in done:
                copies.append((r, done[key]))
                continue
            done[key] = r
            j = len(text) - sum(map(len, before))  # position in the line being written
            used = {c for c in text if c not in PUNCTUATION}
            ends = shape is not None and j == shape[0] - 1
            if j and (j < 2 or text[-2] != text[-1]) and text[-1] in (
                    self.table.doubled_end if ends else self.table.doubled):
                used.discard(text[-1])  # a 叠字 real poems use there may follow once
            found = [self.vocab.stoi[c] for c in used if c in self.vocab.stoi]
            rows += [r] * len(found)
            ids += found
            values += [-self.w.repeat_logit] * len(found)
            season = named(heads[r] + text, SEASONS)
            if season:
                others = [i for s, i in self.season_ids.items() if s not in season]
                rows += [r] * len(others)
                ids += others
                values += [-self.w.season_logit] * len(others)
            if shape and closes_middle_couplet(len(before), shape[1]) and before:
                if j < len(before[-1]) - 1 and before[-1][j] in self.partners:
                    ids_t, pmi = self.partners[before[-1][j]]
                    shift[r, ids_t] += self.w.parallel_logit * pmi
        if rows:
            index = (torch.tensor(rows, device=self.device), torch.tensor(ids, device=self.device))
            shift.index_put_(index, torch.tensor(values, device=self.device), accumulate=True)
        if copies:
            to, source = zip(*copies)
            shift[list(to)] = shift[list(source)]
        return shift
