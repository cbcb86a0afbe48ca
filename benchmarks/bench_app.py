"""Load check of the page on loopback: N concurrent clients, each sending R requests of P poems through
the page's API (gradio_client), all at once; prints p50/p95/max latency and whether every request got
well-formed poems.

    python benchmarks/bench_app.py --ckpt logs/train/runs/<run>/checkpoints/best.ckpt
    python benchmarks/bench_app.py --ckpt ... --clients 20 --requests 5 --poems 7 --form qijue

The page serves one request at a time (the model is shared), so latency grows with the queue: p95 is
roughly clients x the time of one request.
"""

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", type=Path, required=True)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=5, help="per client")
    ap.add_argument("--poems", type=int, default=7, help="per request")
    ap.add_argument("--form", default="qijue")
    args = ap.parse_args()

    from gradio_client import Client

    from lit_poetry.app import Limits, PoemWriter, build_page, launch
    from lit_poetry.checkpoint import load_poetry_lm
    from lit_poetry.text import FORMS, is_regular

    model, vocab = load_poetry_lm(args.ckpt)
    fields = {"form": args.form, "temperature": 0.8, "top_p": 0.9, "seed": -1, "num_poems": 1}
    writer = PoemWriter(model, vocab, Limits(max_poems=max(8, args.poems)))
    page = build_page(writer, fields)
    url = launch(page, "127.0.0.1", 0, max_queue=args.clients * 2, block=False)

    def client_session(k: int) -> list[tuple[float, bool]]:
        client = Client(url, verbose=False)
        results = []
        for r in range(args.requests):
            t0 = time.perf_counter()
            poems_html, _, message = client.predict("", "", args.form, "", 0.8, 0.9, 1000 * k + r, args.poems,
                                                    "simplified", "off", False, "", True, api_name="/write")
            seconds = time.perf_counter() - t0
            texts = ["".join(p.split("</p>")[0] for p in poem.split("<p>")[1:])
                     for poem in poems_html.split('<div class="poem">')[1:]]
            ok = not message and len(texts) == args.poems and all(
                is_regular(t, args.form) if args.form in FORMS else t for t in texts)
            results.append((seconds, ok))
        return results

    t0 = time.perf_counter()
    with ThreadPoolExecutor(args.clients) as pool:
        results = [r for session in pool.map(client_session, range(args.clients)) for r in session]
    wall = time.perf_counter() - t0
    page.close()
    latencies = sorted(s for s, _ in results)
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    well_formed = sum(ok for _, ok in results)
    print(f"{args.clients} clients x {args.requests} requests x {args.poems} poems ({args.form}): "
          f"{len(results)} requests in {wall:.1f} s; latency p50 {statistics.median(latencies):.2f} s, "
          f"p95 {p95:.2f} s, max {latencies[-1]:.2f} s; well-formed {well_formed}/{len(results)}")


if __name__ == "__main__":
    main()
