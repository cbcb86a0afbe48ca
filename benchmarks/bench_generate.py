"""Generation speed: cold start of generate.py to the first poem, and sampling 7 poems (one per start word).

    python benchmarks/bench_generate.py                         # a report-size model (E=H=512, V=5500)
    python benchmarks/bench_generate.py --ckpt logs/tang_large/checkpoints/best.ckpt
    python benchmarks/bench_generate.py --ckpt logs/model_v1/checkpoints/best.ckpt --shipped

Sampling is timed free, in fixed forms, in fixed forms under metre=strict rhyme=true (the ratio to
the same form without the metre is the constraint's cost; the goal is within 2x), and as generate.py's
default form=auto metre=auto (a free draft, then the nearest form under its metre), each with plain sampling
(candidates=1, temperature 0.8, untitled) and with the defaults (6 candidate lines; a title drawn for each
poem and its guidance, where the model reads titles; the goal for seven 七律 under the metre is 3 s on a
2-core CPU). With --shipped, sampling uses the shipped model.

Without --ckpt a checkpoint with random weights of the given sizes is written to a temporary folder:
sampling costs the same whatever the weights. Cold start is the wall time of a fresh
`python generate.py ckpt_path=... start=月 form=wujue` process (imports, checkpoint load, one poem),
median of --runs; with --shipped the same command without ckpt_path (the model inside the package) is
timed too, the two alternating so that noise hits both alike.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def random_checkpoint(path: Path, vocab_size: int, embed: int, hidden: int) -> Path:
    """A checkpoint in PoetryLitModule's format (hyper_parameters + state_dict) with random weights."""
    from lit_poetry.data.vocab import Vocabulary
    from lit_poetry.generation import REPORT_STARTS
    from lit_poetry.models.build import build_network

    base = list(REPORT_STARTS + "，。") + [chr(0x4E00 + k) for k in range(vocab_size)]
    vocab = Vocabulary(dict.fromkeys(base).keys())  # unique, in order
    vocab = Vocabulary(vocab.itos[4 : vocab_size])
    model_cfg = {"_target_": "lit_poetry.models.lstm_lm.LSTMLM", "embedding_dim": embed, "hidden_size": hidden,
                 "tie_weights": embed == hidden}
    net = build_network(model_cfg, len(vocab))
    torch.save({"hyper_parameters": {"vocab": vocab.to_dict(), "model": model_cfg},
                "state_dict": {f"net.{k}": v for k, v in net.state_dict().items()}}, path)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", type=Path, default=None)
    ap.add_argument("--vocab", type=int, default=5500)
    ap.add_argument("--embed", type=int, default=512)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--shipped", action="store_true", help="also time the cold start with the shipped model")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        ckpt = args.ckpt or random_checkpoint(Path(tmp) / "random.ckpt", args.vocab, args.embed, args.hidden)
        models = {"checkpoint": [f"ckpt_path={ckpt}"], **({"shipped model": []} if args.shipped else {})}
        cold = {name: [] for name in models}
        for _ in range(args.runs):
            for name, model_args in models.items():
                t = time.perf_counter()
                run = subprocess.run([sys.executable, "generate.py", *model_args, "start=月", "form=wujue", "seed=0"],
                                     cwd=ROOT, capture_output=True, text=True)
                cold[name].append(time.perf_counter() - t)
                assert run.returncode == 0, run.stderr

        from lit_poetry.checkpoint import load_for_use, load_poetry_lm
        from lit_poetry.generation import REPORT_STARTS, sample
        from lit_poetry.search import Search

        model, vocab = load_poetry_lm(ckpt) if not args.shipped else (lambda t: (t.model, t.vocab))(
            load_for_use(None, "cpu"))
        timings = {}
        settings = [(form, metre, k) for form, metre in [("free", "off"), ("wujue", "off"), ("wujue", "strict"),
                                                         ("qilv", "off"), ("qilv", "strict"), ("auto", "auto")]
                    for k in (1, Search.candidates)]
        sample(model, vocab, ["日"], 1, form="wujue", metre="strict", rhyme=True)  # builds the metre masks once
        for _ in range(args.runs):  # interleaved rounds: noise hits every setting alike
            for seed, (form, metre, k) in enumerate(settings):  # each setting its own requests, every round
                t = time.perf_counter()
                sample(model, vocab, list(REPORT_STARTS), 1, form=form, seed=seed, metre=metre,
                       rhyme=metre != "off", candidates=k,
                       **({"temperature": 0.8, "top_p": 1.0, "title": ""} if k == 1 else {}))
                timings.setdefault((form, metre, k), []).append(time.perf_counter() - t)
        timings = {key: statistics.median(v) for key, v in timings.items()}

    print(f"checkpoint: {args.ckpt or f'random weights, E={args.embed} H={args.hidden} V={args.vocab}'}; "
          f"{torch.get_num_threads()} threads")
    for name, seconds in cold.items():
        ratio = statistics.median(seconds) / statistics.median(cold["checkpoint"])
        print(f"cold start of generate.py start=月 form=wujue, {name}: median {statistics.median(seconds):.2f} s "
              f"(min {min(seconds):.2f}, max {max(seconds):.2f}, {args.runs} runs; {ratio:.2f}x of the checkpoint)")
    for (form, metre, k), seconds in timings.items():
        ratio = f" ({seconds / timings[(form, 'off', k)]:.2f}x of metre=off)" if (form, "off", k) in timings and \
            metre != "off" else ""
        search = f" ({seconds / timings[(form, metre, 1)]:.2f}x of plain sampling)" if k > 1 else ""
        rhyme = " rhyme=true" if metre not in ("off", "auto") else ""
        print(f"7 poems (日红山夜湖海月, batched), form={form} metre={metre}{rhyme} "
              f"candidates={k}: median {seconds * 1000:.0f} ms{ratio}{search}")

if __name__ == "__main__":
    main()
