"""Evaluation: a checkpoint's perplexity on any corpus, and a quality report of the poems it writes.

    python -m lit_poetry.evaluate ckpt_path=<run>/checkpoints/best.ckpt data=tang           # val split
    python -m lit_poetry.evaluate ckpt_path=... data=tang300 split=all                     # another corpus
    python -m lit_poetry.evaluate ckpt_path=... corpus=/path/poems.json split=all          # any file
    python -m lit_poetry.evaluate ckpt_path=... data=tang quality.num_samples=20 output=json

Perplexity is exp of the mean next-token NLL over every target of the chosen poems: characters,
punctuation and <eos>; never <pad>. Characters outside the model's vocabulary are encoded as <unk>
and scored like any other target (the model learned <unk> for rare characters); `unk_rate` says how
many there were. `split=val|test|train` re-creates the training split with the data config's seed
(pass the same data settings the model was trained with), `split=all` uses every poem.

Quality metrics of generated poems (`quality_report`):
- format_valid: share of poems with an even number of lines, all of 5 or all of 7 characters, odd lines
  ending in ，and even lines in 。？！;
- novelty: share of generated lines (punctuation stripped) that do not occur as a line of the corpus;
- distinct_1 / distinct_2: distinct characters / bigrams (within lines) over all of them;
- repetition: mean over poems of 1 - distinct characters / characters (0 = no character repeats).
"""

import json
import math

import numpy as np
import torch
from omegaconf import DictConfig

from lit_poetry.cli import hydra_command
from lit_poetry.data.batching import EncodedSplit, padded_batches
from lit_poetry.data.processing import ProcessingConfig, encode_poems, prepare_poems, split_poems
from lit_poetry.data.vocab import Vocabulary
from lit_poetry.errors import LitPoetryError
from lit_poetry.generation import sample
from lit_poetry.text import is_regular, verse_lines


@torch.no_grad()
def perplexity(model, vocab: Vocabulary, split: EncodedSplit, batch_size: int = 64) -> dict:
    """{"ppl", "nll", "tokens", "unk_rate"} of the model over every target of `split`."""
    model.eval()
    device = next(model.parameters()).device
    total, tokens, unks = 0.0, 0, 0
    for inputs, targets in padded_batches(split, batch_size, vocab.pad_id):
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


def evaluate(cfg: DictConfig) -> dict:
    """Perplexity of `cfg.ckpt_path` on the chosen corpus and split, and the quality report of its samples."""
    from lit_poetry.checkpoint import load_poetry_lm

    if not cfg.ckpt_path:
        raise LitPoetryError("give a checkpoint: ckpt_path=<run dir>/checkpoints/best.ckpt")
    model, vocab = load_poetry_lm(cfg.ckpt_path, cfg.device)
    settings = ProcessingConfig.from_settings({**cfg.data, **({"corpus": cfg.corpus} if cfg.corpus else {})})
    prepared = prepare_poems(settings)
    if cfg.split == "all":
        poem_ids = range(len(prepared.texts))
    elif cfg.split in ("train", "val", "test"):
        poem_ids = split_poems(len(prepared.texts), settings)[cfg.split]
    else:
        raise LitPoetryError(f"split='{cfg.split}' is not one of all, train, val, test")
    result = {"corpus": settings.corpus, "split": cfg.split, "poems": len(poem_ids),
              **perplexity(model, vocab, encode_poems(prepared, poem_ids, vocab), cfg.batch_size)}
    q = cfg.quality
    if q.num_samples > 0:
        poems = sample(model, vocab, list(q.starts), q.num_samples, temperature=q.temperature,
                       max_len=q.max_len, seed=q.seed)
        result["quality"] = quality_report([p["poem"] for p in poems], prepared.texts)
        result["quality"].update(temperature=q.temperature, starts=q.starts)
        result["samples"] = {p["start"]: p["poem"] for p in poems[:: q.num_samples]}
    return result


def format_report(result: dict) -> str:
    lines = [f"{result['corpus']} ({result['split']}, {result['poems']} poems, {result['tokens']} tokens): "
             f"perplexity {result['ppl']:.2f} (NLL {result['nll']:.4f}, <unk> {result['unk_rate']:.2%})"]
    if "quality" in result:
        lines.append("quality: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                             for k, v in result["quality"].items()))
        lines += [f"  {start}: {poem}" for start, poem in result["samples"].items()]
    return "\n".join(lines)


@hydra_command("eval")
def main(cfg: DictConfig) -> None:
    result = evaluate(cfg)
    print(json.dumps(result, ensure_ascii=False, indent=1) if cfg.output == "json" else format_report(result))
