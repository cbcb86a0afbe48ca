"""Evaluation: a checkpoint's perplexity on any corpus, and a quality report of the poems it writes.

    python -m lit_poetry evaluate ckpt_path=<run>/checkpoints/best.ckpt data=tang           # val split
    python -m lit_poetry evaluate ckpt_path=... data=tang300 split=all                     # another corpus
    python -m lit_poetry evaluate ckpt_path=... corpus=/path/poems.json split=all          # any file
    python -m lit_poetry evaluate ckpt_path=... data=tang quality.num_samples=20 output=json

Perplexity is exp of the mean next-token NLL over every target of the chosen poems: characters,
punctuation and <eos>; never <pad>. Characters outside the model's vocabulary are encoded as <unk>
and scored like any other target (the model learned <unk> for rare characters); `unk_rate` says how
many there were. The corpus is read with the data settings the checkpoint was trained with (length
limit, long-poem handling, t2s, min_freq, split seed; the report prints them), unless `data=...` or
`data.<key>=...` is given; `corpus=` only swaps the corpus. `split=val|test|train` re-creates the
training split, `split=all` uses every poem. A model trained with titles (`data.titles=true`) is scored
three times: each poem after its own title (the perplexity reported first, as in training), after another
poem's of the same split (shuffled), and with none; the gap between own and shuffled is what the title tells.

Quality metrics of generated poems (`quality_report`; plain sampling, `quality.candidates=1`, so they describe
the model's own writing, and so do the metre samples below):
- format_valid: share of poems with an even number of lines, all of 5 or all of 7 characters, odd lines
  ending in ，and even lines in 。？！;
- novelty: share of generated lines (punctuation stripped) that do not occur as a line of the corpus;
- distinct_1 / distinct_2: distinct characters / bigrams (within lines) over all of them;
- repetition: mean over poems of 1 - distinct characters / characters (0 = no character repeats).

Metre (`metre_report`, lit_poetry/metre), on the split's real poems of a regular shape (4 or 8 lines of
5 or 7 characters: the human reference) and on samples of `metre.form` with metre off, relaxed, strict
and every:
- tones_ok: share of poems whose pattern holds in the relaxed reading (一三五不论, no 孤平, no 三平尾);
  strict_tones_ok and every_tones_ok the same at the strict (王力) and every-position levels;
- not_jinti: share that are 仄韵 or 古体 (not 近体 at all, lit_poetry/metre/checker.py);
- fixed_positions_ok: share of the positions the relaxed reading fixes that hold;
- rhyme_ok: share whose rhyming lines share one 平声 group with no rhyme character twice; repeated_rhyme:
  share with a rhyme character twice (重韵);
- improbable_readings: share of the fixed tone positions and rhyme positions where a character stands on
  a reading (or rhymes in a group) the 平水韵 lists but verse uses under a tenth of the time (metre.checker);
- sample_ppl (samples only): the model's perplexity of the poems it wrote, unconstrained (temperature 1):
  what the constraint costs.

Craft (`craft_section`, lit_poetry/craft.py), for `craft.form`: real poems of the split beside the model's
poems from the default search and from plain sampling: repeated characters, seasons, 对仗 of the middle
couplets, the model's log-probability, 格律 and what is copied from the training poems.
"""

import math
from dataclasses import asdict

import numpy as np
import torch
from omegaconf import DictConfig

from lit_poetry.constraints import METRES
from lit_poetry.craft import TrainingLines, craft_report
from lit_poetry.data.batching import EncodedSplit, padded_batches
from lit_poetry.data.download import ensure_corpus
from lit_poetry.data.processing import ProcessingConfig, encode_poems, prepare_poems, split_poems, title_headers
from lit_poetry.data.vocab import Vocabulary
from lit_poetry.errors import LitPoetryError
from lit_poetry.generation import AUTO, guidance_for, sample
from lit_poetry.metre import check, improbable_readings
from lit_poetry.text import is_regular, verse_lines

TITLE_MODES = ("own", "shuffled", "none")  # a titled model's perplexity is first the one training reports


@torch.no_grad()
def perplexity(model, vocab: Vocabulary, split: EncodedSplit, batch_size: int = 64) -> dict:
    """{"ppl", "nll", "tokens", "unk_rate"} of the model over every target of `split`."""
    model.eval()
    device = next(model.parameters()).device
    total, tokens, unks = 0.0, 0, 0
    for inputs, targets in padded_batches(split, batch_size, vocab.pad_id, title_ids=vocab.title_ids):
        inputs, targets = inputs.to(device), targets.to(device)
        loss, _, target_ids = model.loss(inputs, targets, vocab.pad_id)  # mean NLL over the N targets
        total += loss.item() * len(target_ids)
        tokens += len(target_ids)
        unks += int((target_ids == vocab.unk_id).sum())
    return {"ppl": math.exp(total / tokens), "nll": total / tokens, "tokens": tokens, "unk_rate": unks / tokens}


def quality_report(poems: list[str], corpus_texts: list[str]) -> dict:
    known = {line for text in corpus_texts for line in verse_lines(text)}
    lines = [line for poem in poems for line in verse_lines(poem)]
    chars = [c for line in lines for c in line]
    bigrams = [line[k : k + 2] for line in lines for k in range(len(line) - 1)]
    repetition = [1 - len(set(p)) / len(p) for p in ("".join(verse_lines(poem)) for poem in poems) if p]
    return {
        "poems": len(poems),
        "format_valid": sum(map(is_regular, poems)) / max(len(poems), 1),
        "novelty": sum(line not in known for line in lines) / max(len(lines), 1),
        "distinct_1": len(set(chars)) / max(len(chars), 1),
        "distinct_2": len(set(bigrams)) / max(len(bigrams), 1),
        "repetition": float(np.mean(repetition)) if repetition else 0.0,
    }


def metre_report(poems: list[str]) -> dict:
    """Tone and rhyme compliance of the poems that have a regular shape (see the module docstring)."""
    verdicts = [v for v in map(check, poems) if v.form]
    improbable = [sum(counts) for counts in zip((0, 0), *map(improbable_readings, verdicts))]
    strict = [check("，".join(v.lines), level="strict") for v in verdicts]
    every = [check("，".join(v.lines), level="every") for v in verdicts]

    def share(vs, ok) -> float:
        return sum(map(ok, vs)) / max(len(vs), 1)

    levels = {"tones_ok": verdicts, "strict_tones_ok": strict, "every_tones_ok": every}
    by_form = {}
    for form in dict.fromkeys(v.form for v in verdicts):
        by_form[form] = {"poems": sum(v.form == form for v in verdicts)}
        for name, vs in levels.items():
            by_form[form][name] = share([v for v in vs if v.form == form], lambda v: v.tones_ok)
        by_form[form]["rhyme_ok"] = share([v for v in verdicts if v.form == form], lambda v: v.rhyme_ok)
    return {"poems": len(poems), "regular_shape": len(verdicts), "by_form": by_form,
            "tones_ok": share(verdicts, lambda v: v.tones_ok), "strict_tones_ok": share(strict, lambda v: v.tones_ok),
            "every_tones_ok": share(every, lambda v: v.tones_ok),
            "fixed_positions_ok": sum(v.fixed_correct for v in verdicts) / max(sum(v.fixed_total for v in verdicts), 1),
            "rhyme_ok": share(verdicts, lambda v: v.rhyme_ok),
            "repeated_rhyme": share(verdicts, lambda v: v.repeated_rhyme),
            "not_jinti": share(verdicts, lambda v: v.kind != "近体"),
            "improbable_readings": improbable[0] / max(improbable[1], 1)}


def sample_perplexity(poems: list[dict]) -> float:
    """exp of the mean NLL the model gave the characters of its own poems as it wrote them (`sample`'s
    probabilities: no constraint, temperature 1)."""
    nll = [-math.log(max(p, 1e-12)) for poem in poems for p in poem.probabilities]
    return math.exp(sum(nll) / max(len(nll), 1))


def data_settings(cfg: DictConfig, trained_data: dict | None, data_given: bool,
                  data_keys: tuple[str, ...] = ()) -> tuple[ProcessingConfig, str]:
    """The settings to read the corpus with, and where they came from: the command line's data config when
    one was chosen (`data=...`), else the checkpoint's (with this machine's data directory) with only the
    keys given (`data.max_len=40`) changed, else the default data config."""
    if data_given or not trained_data:
        settings, source = dict(cfg.data), "the data config" + ("" if data_given else " (none in the checkpoint)")
    else:
        changed = {k: cfg.data[k] for k in data_keys if k in trained_data}
        settings = {**trained_data, "data_dir": cfg.data.data_dir, **changed}
        source = "the checkpoint" + (f", with {', '.join(f'{k}={v}' for k, v in changed.items())}" if changed else "")
    if cfg.corpus:
        settings["corpus"] = cfg.corpus
    settings["train_also"] = ()  # corpora that only trained (全宋诗) hold none of the measured poems
    return ProcessingConfig.from_settings(settings), source


def evaluate(cfg: DictConfig, data_given: bool = False, data_keys: tuple[str, ...] = ()) -> dict:
    """Perplexity of `cfg.ckpt_path` on the chosen corpus and split, and the quality report of its samples.
    `data_given`: the command line chose a data config (`data=...`), which then wins over the checkpoint's;
    `data_keys`: the data keys it set (`data.max_len=40`), which change the checkpoint's settings."""
    from lit_poetry.checkpoint import load_for_use
    from lit_poetry.settings import check_settings

    check_settings(cfg)
    trained = load_for_use(cfg.ckpt_path, cfg.device)  # without ckpt_path: the shipped model
    model, vocab = trained.model, trained.vocab
    settings, source = data_settings(cfg, trained.data, data_given, data_keys)
    ensure_corpus(settings.corpus, settings.data_dir, cfg.data.download)
    prepared = prepare_poems(settings)
    if cfg.split == "all":
        poem_ids = range(len(prepared.texts))
    elif cfg.split in ("train", "val", "test"):
        poem_ids = split_poems(prepared, settings)[cfg.split]
    else:
        raise LitPoetryError(f"split='{cfg.split}' is not one of all, train, val, test")
    modes = TITLE_MODES if settings.titles and vocab.title_ids is not None else ("none",)
    by_title = {mode: perplexity(model, vocab, encode_poems(prepared, poem_ids, vocab, title_headers(
        prepared, poem_ids, mode, seed=settings.split_seed)), cfg.batch_size) for mode in modes}
    result = {"corpus": settings.corpus, "split": cfg.split, "poems": len(poem_ids), **by_title[modes[0]],
              "data_settings": {k: v for k, v in asdict(settings).items() if k != "data_dir"},
              "data_settings_from": source}
    if len(modes) > 1:  # how much the title tells: each poem after its own, another poem's, or no title
        result["titles"] = {mode: {k: r[k] for k in ("ppl", "nll", "tokens")} for mode, r in by_title.items()}
    q = cfg.quality
    if q.num_samples > 0:
        poems = sample(model, vocab, list(q.starts), q.num_samples, temperature=q.temperature, top_p=1.0,
                       max_len=q.max_len, seed=q.seed, candidates=q.candidates, title="")
        result["quality"] = quality_report([p.poem for p in poems], prepared.texts)
        result["quality"].update(temperature=q.temperature, starts=q.starts)
        result["samples"] = {p.start: p.poem for p in poems[:: q.num_samples]}
    c = cfg.get("craft")
    if c and c.form and c.num_samples > 0:
        result["craft"] = craft_section(model, vocab, prepared, poem_ids, settings, cfg, guidance_for(trained.data))
    m = cfg.get("metre")
    if m and m.form:
        result["metre"] = {"real poems": metre_report([prepared.texts[int(i)] for i in poem_ids])}
        result["metre_form"] = m.form
        for setting in METRES if m.num_samples > 0 else ():
            poems = sample(model, vocab, list(q.starts), m.num_samples, form=m.form, metre=setting,
                           rhyme=setting != "off", temperature=q.temperature, top_p=1.0, seed=q.seed,
                           candidates=q.candidates, title="")
            result["metre"][f"samples, metre={setting}"] = dict(
                metre_report([p.poem for p in poems]), sample_ppl=sample_perplexity(poems))
    return result


def craft_section(model, vocab: Vocabulary, prepared, poem_ids, settings: ProcessingConfig, cfg: DictConfig,
                  guidance: float) -> dict:
    """craft_report (craft.py) side by side: real poems of `craft.form` from the chosen split, the model's
    poems with the defaults (the search, each poem written to a drawn title, guided by `guidance`: the
    checkpoint's own, guidance_for(its training data), not the evaluated corpus's), and with plain
    sampling (candidates=1, temperature 0.8, no top-p, untitled), both under metre=auto,
    `craft.num_samples` per start word of `quality.starts`."""
    c, starts = cfg.craft, list(cfg.quality.starts)
    train_ids = range(len(prepared.texts)) if cfg.split == "all" else split_poems(prepared, settings)["train"]
    training = TrainingLines([prepared.texts[int(i)] for i in train_ids])
    real = [t for t in (prepared.texts[int(i)] for i in poem_ids) if is_regular(t, c.form)][: c.real_poems]
    searched = sample(model, vocab, starts, c.num_samples, form=c.form, metre=AUTO, seed=c.seed, guidance=guidance)
    plain = sample(model, vocab, starts, c.num_samples, form=c.form, metre=AUTO, seed=c.seed, candidates=1,
                   temperature=0.8, top_p=1.0, title="")
    def report(poems: list[str]) -> dict:
        split = EncodedSplit.from_sequences([[vocab.bos_id, *vocab.encode(p), vocab.eos_id] for p in poems],
                                            list(range(len(poems))))
        return craft_report(poems, training, -perplexity(model, vocab, split)["nll"] if poems else math.nan)

    return {"form": c.form, "real poems": report(real), "search (default)": report([p.poem for p in searched]),
            "plain sampling": report([p.poem for p in plain])}


def format_report(result: dict) -> str:
    lines = [f"{result['corpus']} ({result['split']}, {result['poems']} poems, {result['tokens']} tokens): "
             f"perplexity {result['ppl']:.2f} (NLL {result['nll']:.4f}, <unk> {result['unk_rate']:.2%})",
             *(f"  {mode} titles: perplexity {r['ppl']:.2f} (NLL {r['nll']:.4f})"
               for mode, r in result.get("titles", {}).items()),
             f"data settings (from {result['data_settings_from']}): "
             + ", ".join(f"{k} {'for JSON files (the default)' if k == 't2s' and v is None else v}"
                         for k, v in result["data_settings"].items() if k != "corpus")]
    if "quality" in result:
        lines.append("quality: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                             for k, v in result["quality"].items()))
        lines += [f"  {start}: {poem}" for start, poem in result["samples"].items()]
    for name, report in result.get("craft", {}).items():
        if name != "form":
            lines.append(f"craft ({result['craft']['form']}, {name}): " + ", ".join(
                f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in report.items()))
    for name, report in result.get("metre", {}).items():
        lines.append(f"metre ({name}): " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                                       for k, v in report.items() if k != "by_form"))
    return "\n".join(lines)
