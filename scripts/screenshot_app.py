"""A screenshot of the page with real poems, for the README (needs .[web] and Debian's chromium and
fonts-wqy-microhei, so that the characters render):

    python scripts/screenshot_app.py --out docs/figures/app.png              # the shipped model
    python scripts/screenshot_app.py --ckpt logs/train/runs/<run>/checkpoints/best.ckpt --out app.png
"""

import argparse
import os
from pathlib import Path

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", type=Path, default=None, help="a checkpoint or exported file (default: shipped)")
    ap.add_argument("--out", type=Path, default=Path("docs/figures/app.png"))
    ap.add_argument("--acrostic", default="春夏秋冬")
    ap.add_argument("--title", default="", help="the poems' theme (a model trained with titles)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from lit_poetry.app import CHROMIUM, CHROMIUM_ARGS, PoemWriter, build_page, launch
    from lit_poetry.checkpoint import load_for_use

    trained = load_for_use(str(args.ckpt) if args.ckpt else None)
    model, vocab = trained.model, trained.vocab
    if args.title and vocab.title_ids is None:
        raise SystemExit("error: this model was trained without titles; leave out --title, or give a model "
                         "trained with data.titles=true")
    fields = {"form": "qijue", "temperature": 0.8, "top_p": 0.9, "seed": args.seed, "num_poems": 2}
    server = build_page(PoemWriter(model, vocab), fields)
    url = launch(server, "127.0.0.1", 0, block=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        page.locator("#acrostic textarea").fill(args.acrostic)
        page.locator("#title textarea").fill(args.title)
        page.locator("#write").click()
        page.wait_for_selector("#poems .poem p")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out), full_page=True)
        browser.close()
    server.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
