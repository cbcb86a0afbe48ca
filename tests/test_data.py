import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lit_poetry.data.cache import load_or_process
from lit_poetry.data.cleaning import clean_line, clean_poem, clean_title
from lit_poetry.data.corpora import Poem, read_corpus
from lit_poetry.data.datamodule import PoetryDataModule
from lit_poetry.data.processing import ProcessingConfig, fit_length, process
from lit_poetry.data.vocab import Vocabulary
from lit_poetry.errors import LitPoetryError
from lit_poetry.text import PUNCTUATION, is_han

from .helpers import ROOT


def test_tangshi_reader_joins_wrapped_lines():
    poems = read_corpus("tangshi")
    assert len(poems) == 168
    first = poems[0]
    assert first.lines[:2] == ("巴山上峡重复重，阳台碧峭十二峰。", "荆王猎时逢暮雨，夜卧高丘梦神女。")
    assert all("\n" not in line for p in poems for line in p.lines)


def test_tang300_reader_converts_to_simplified(data_dir):
    poems = read_corpus("tang300", data_dir)
    assert len(poems) == 320
    (stork,) = [p for p in poems if p.title == "登鹳雀楼"]
    assert stork == Poem("登鹳雀楼", "王之涣", ("白日依山尽，黄河入海流。", "欲穷千里目，更上一层楼。"))


def test_quantangshi_reader(data_dir):
    poems = read_corpus("tang", data_dir)
    assert len(poems) == 56480
    night = [p for p in poems if p.title == "静夜思" and p.author == "李白"]
    assert night and night[0].text == "床前看月光，疑是地上霜。举头望山月，低头思故乡。"


def test_any_file_path_instead_of_a_name(data_dir):
    path = data_dir / "chinese-poetry" / "mengxue" / "tangshisanbaishou.json"
    assert read_corpus(str(path)) == read_corpus("tang300", data_dir)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("闌風長雨（一作「東風細雨」）秋紛紛", "闌風長雨秋紛紛"),
        ("春來發幾枝(明年 一作：年年）", "春來發幾枝"),  # opened half-width, closed full-width
        ("[爽]節在重九，物華新雨餘.", "爽節在重九，物華新雨餘。"),
        ("童子解吟《長恨曲》,胡兒能唱「琵琶篇」!", "童子解吟長恨曲，胡兒能唱琵琶篇！"),
        ("三顧頻煩天下計、兩朝開濟老臣心;", "三顧頻煩天下計，兩朝開濟老臣心；"),
        ("大宋丁巳〖一○七七〗八月", "大宋丁巳八月"),
    ],
)
def test_clean_line(raw, expected):
    assert clean_line(raw) == expected


@pytest.mark.parametrize(
    "lines, reason",
    [
        (("●●啼深竹，鵁鶄老溼沙。",), "lost_chars"),
        (("簪玉步河堤，妖韶援綠{𥫗/戢}。",), "lost_chars"),
        (("白日□山尽，黄河入海流。",), "lost_chars"),
        (("白日依山尽，Ｂ河入海流。",), "non_han"),
        (("", "（一作無題）"), "empty"),
    ],
)
def test_poems_dropped_with_reason(lines, reason):
    assert clean_poem(Poem("", "", lines)) == (None, reason)


def test_note_spanning_lines_removed_whole():
    poem = Poem("", "", ("明朝挂帆席，枫叶落纷纷。(挂", "帆一作：洞庭）"))
    assert clean_poem(poem)[0].text == "明朝挂帆席，枫叶落纷纷。"


@given(st.lists(st.text(alphabet="白日依山尽黄河（）()[]「」《》□{},.，。？！ Ｂa1", max_size=30), max_size=4))
def test_cleaned_poems_hold_only_han_and_punctuation(lines):
    poem, reason = clean_poem(Poem("", "", tuple(lines)))
    assert (poem is None) == bool(reason)
    if poem is not None:
        assert all(is_han(c) or c in PUNCTUATION for c in poem.text)


@pytest.fixture(scope="module")
def tang_poems(data_dir):
    """全唐诗 as read (simplified, not cleaned), by (title, author)."""
    return {(p.title, p.author): p for p in read_corpus("tang", data_dir)}


def test_a_note_closing_after_the_verse_leaves_no_stray_mark(tang_poems):
    # 。。 came from `…以便参攷。` / `）。`: the note goes, its `。` stayed after the verse's own
    poem = tang_poems["佛教梵文唵字唐玄宗书并读（原刻石在河南登封，还有御制《老子赞》。） 二", "唐明皇"]
    assert poem.lines[-1] == "）。"
    assert clean_poem(poem)[0].text == "鹤立蛇形势未休，五尺文字鬼神愁。儒门弟子无人识，穿耳胡僧笑点头。"
    # a line that begins with the mark the previous one ended with
    assert clean_poem(tang_poems["偈", "齐安和尚"])[0].lines == ("猛炽焰中人有路，旋风顶上屹然栖。",
                                                             "镇常历劫谁差互，杲日无言运照齐。")


def test_footnote_markers_are_not_verse(tang_poems):
    text = clean_poem(tang_poems["杂诗", "崔湜"])[0].text
    assert "宁知猗梧凤" in text and "猗一梧" not in text
    assert "下流不可居斯言可佩服" in text


def test_editors_prose_drops_the_poem(tang_poems):
    poem = tang_poems["又句", "李揆"]
    assert "以上各句见《四部丛刊》本《唐诗纪事》卷二十八" in poem.lines[1]
    assert clean_poem(poem) == (None, "editorial")


def test_variant_characters_take_their_standard_form(tang_poems):
    poem, _ = clean_poem(tang_poems["秋日二首 一", "太宗皇帝"])
    assert poem.lines[0] == "菊散金风起，荷疏玉露圆。"  # 荷疎 in the source
    assert clean_line("劒外九华英") == "剑外九华英" and clean_line("花暎水") == "花映水"


def test_the_metre_reads_a_variant_as_its_standard_form():
    from lit_poetry.metre import tone_table
    from lit_poetry.variants import VARIANTS

    table = tone_table()
    read = [v for v, s in VARIANTS.items() if table.tones_of(s)]
    assert len(read) > 150 and all(table.tones_of(v) == table.tones_of(VARIANTS[v]) for v in read)


@pytest.mark.parametrize("title, expected", [
    ("秋日二首 一", "秋日"),
    ("杂曲歌辞 轻薄篇二首 一", "轻薄篇"),
    ("和微之诗二十三首 和寄问", "和微之诗和寄问"),
    ("题梵书（伯三九八六）", "题梵书"),
    ("荅韩翃", "答韩翃"),
    ("遣悲怀三首·其一", "遣悲怀"),
    ("无题·相见时难别亦难", "无题相见时难别亦难"),
    ("前出塞九首 四", "前出塞"),
    ("早春登龙山静胜寺时非休澣司空特许是行因赠幕中诸公", "早春登龙山静胜寺时非休浣司空特许"),
    ("Ａ", ""),
])
def test_clean_title(title, expected):
    assert clean_title(title) == expected


def test_vocabulary_order_and_min_freq():
    vocab = Vocabulary.build(["山月山月", "江", "花"], min_freq=1)
    # 山 and 月 twice (tie broken by code point: 山 U+5C71 < 月 U+6708), then 江 U+6C5F < 花 U+82B1
    assert vocab.itos == ["<pad>", "<unk>", "<bos>", "<eos>", "山", "月", "江", "花"]
    assert Vocabulary.build(["山月山月", "江"], min_freq=2).itos[4:] == ["山", "月"]


@given(st.lists(st.text(alphabet="春夏秋冬风花雪月，。", min_size=1), min_size=1, max_size=5))
def test_vocabulary_deterministic_round_trip(texts):
    vocab = Vocabulary.build(texts)
    assert Vocabulary.build(list(reversed(texts))) == vocab
    again = Vocabulary.from_dict(json.loads(json.dumps(vocab.to_dict())))
    assert again == vocab
    for text in texts:
        assert vocab.decode(vocab.encode(text)) == text
    assert vocab.encode("龘")[0] == vocab.unk_id


@settings(max_examples=200)
@given(length=st.integers(1, 200), max_len=st.integers(2, 40), step=st.integers(1, 40))
def test_windows_cover_every_character(length, max_len, step):
    if step > max_len:
        with pytest.raises(LitPoetryError, match="would skip characters"):
            ProcessingConfig(min_len=1, max_len=max_len, long_poems="window", seq_step=step)
        return
    text = "".join(chr(0x4E00 + i) for i in range(length))
    cfg = ProcessingConfig(min_len=1, max_len=max_len, long_poems="window", seq_step=step)
    pieces = fit_length(text, cfg)
    covered = set()
    for piece, _, _ in pieces:
        assert len(piece) == min(max_len, length)
        start = text.index(piece)
        covered.update(range(start, start + len(piece)))
    assert covered == set(range(length))
    assert pieces[0][1] and pieces[-1][2]  # <bos> on the first window, <eos> on the last


def test_truncate_cuts_at_a_line_end():
    cfg = ProcessingConfig(min_len=5, max_len=16)
    assert fit_length("白日依山尽，黄河入海流。欲穷千里目，", cfg) == [("白日依山尽，黄河入海流。", True, False)]
    assert fit_length("白日", cfg) == []
    assert fit_length("白日依山尽，黄河入海流。", ProcessingConfig(min_len=5, max_len=8, long_poems="drop")) == []


def test_split_by_poem_is_seeded_and_disjoint():
    cfg = ProcessingConfig(corpus="tangshi", long_poems="window", max_len=24)
    a, b = process(cfg), process(cfg)
    train, val = set(a.splits["train"].poem_index.tolist()), set(a.splits["val"].poem_index.tolist())
    assert not train & val and len(train | val) == a.stats["poems_kept"] == 168
    assert len(val) == round(0.2 * 168)
    assert torch.equal(a.splits["val"].ids, b.splits["val"].ids)
    c = process(ProcessingConfig(corpus="tangshi", long_poems="window", split_seed=7))
    assert set(c.splits["val"].poem_index.tolist()) != val


def test_sequences_are_bos_text_eos(data_dir):
    corpus = process(ProcessingConfig(corpus="tang300", data_dir=str(data_dir), max_len=48, long_poems="drop"))
    vocab, split = corpus.vocab, corpus.splits["train"]
    for i in range(len(split)):
        seq = split[i].tolist()
        assert seq[0] == vocab.bos_id and seq[-1] == vocab.eos_id
        assert vocab.decode(seq) == corpus.texts[split.poem_index[i]]


def test_cache_hit_returns_identical_tensors(tmp_path, data_dir):
    cfg = ProcessingConfig(corpus="tang300", data_dir=str(data_dir))
    first = load_or_process(cfg, tmp_path)
    second = load_or_process(cfg, tmp_path)
    assert not first.stats["cache"]["hit"] and second.stats["cache"]["hit"]
    assert second.vocab == first.vocab and second.texts == first.texts
    for name in first.splits:
        assert torch.equal(first.splits[name].ids, second.splits[name].ids)
        assert torch.equal(first.splits[name].offsets, second.splits[name].offsets)
    other = load_or_process(ProcessingConfig(corpus="tang300", data_dir=str(data_dir), min_freq=2), tmp_path)
    assert not other.stats["cache"]["hit"]  # a different setting is a different cache entry
    assert len(list(tmp_path.glob("*.pt"))) == 2 and not list(tmp_path.glob("*.tmp"))


def test_corrupt_cache_file_is_rebuilt(tmp_path, caplog):
    cfg = ProcessingConfig(corpus="tangshi")
    with caplog.at_level("INFO", logger="lit_poetry.data.cache"):
        good = load_or_process(cfg, tmp_path)
    assert "data cache miss: no " in caplog.text  # every miss says why
    (path,) = tmp_path.glob("*.pt")
    path.write_bytes(b"not a torch file")
    with caplog.at_level("INFO", logger="lit_poetry.data.cache"):
        again = load_or_process(cfg, tmp_path)
    assert f"data cache {path} is unreadable" in caplog.text
    assert not again.stats["cache"]["hit"] and torch.equal(again.splits["train"].ids, good.splits["train"].ids)


def test_datamodule_refuses_an_unknown_setting():
    with pytest.raises(LitPoetryError, match="unknown data setting.*max_lenn"):
        PoetryDataModule(corpus="tangshi", max_lenn=12)


def test_datamodule_pads_and_shifts(tmp_path):
    dm = PoetryDataModule(corpus="tangshi", cache_dir=str(tmp_path), batch_size=8, long_poems="window")
    inputs, targets = next(iter(dm.train_dataloader()))
    assert inputs.shape == targets.shape and inputs.shape[0] == 8
    assert torch.equal(inputs[:, 1:], targets[:, :-1])
    pad = dm.vocab.pad_id
    lengths = (targets != pad).sum(1)
    assert lengths.max() == targets.shape[1]  # padded to the batch's longest, no more
    for row, n in zip(targets, lengths):
        assert (row[n:] == pad).all() and (row[:n] != pad).all()


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(corpus="nope"), "unknown corpus 'nope'"),
        (dict(corpus="tang300", data_dir="/nonexistent"), "does not exist"),
        (dict(corpus="tangshi", min_len=900, max_len=900, long_poems="drop"), "no poem left"),
        (dict(corpus="tangshi", long_poems="shuffle"), "long_poems='shuffle'"),
    ],
)
def test_bad_input_is_one_clear_error(settings, message, tmp_path):
    with pytest.raises(LitPoetryError, match=message):
        load_or_process(ProcessingConfig(**settings), tmp_path / "cache")
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_corrupt_json_names_the_file(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('[{"title": "x", "paragraphs": ["白日依山尽，"]', encoding="utf-8")
    with pytest.raises(LitPoetryError, match=r"broken.json is not valid JSON \(line 1"):
        read_corpus(str(bad))


def test_stats_command(tmp_path, data_dir):
    env = {"LIT_POETRY_CACHE": str(tmp_path)}
    run = subprocess.run([sys.executable, "-m", "lit_poetry", "stats", "data=tang300"], cwd=ROOT, capture_output=True,
                         text=True, env={**__import__("os").environ, **env})
    assert run.returncode == 0, run.stderr
    stats = json.loads(run.stdout)
    assert stats["poems_read"] == 320 and stats["vocab_size"] > 1000
    bad = subprocess.run([sys.executable, "-m", "lit_poetry", "stats", "data=tang", "data.data_dir=/nonexistent",
                          "data.download=false"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().startswith("error: corpus 'tang' is not under /nonexistent (data.data_dir) and "
                                         "data.download=false")
    assert not Path("/nonexistent").exists()
