"""A screenshot of the page with real poems, for the README (needs .[web] and Debian's chromium and
fonts-wqy-microhei, so that the characters render):

    python scripts/screenshot_app.py --ckpt logs/train/runs/<run>/checkpoints/best.ckpt --out docs/figures/app.png
"""

import argparse
import os
from pathlib import Path

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("docs/figures/app.png"))
    ap.add_argument("--acrostic", default="春夏秋冬")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from lit_poetry.app import CHROMIUM, CHROMIUM_ARGS, PoemWriter, build_page, launch
    from lit_poetry.checkpoint import load_poetry_lm

    model, vocab = load_poetry_lm(args.ckpt)
    fields = {"form": "qijue", "temperature": 0.8, "top_p": 0.9, "seed": args.seed, "num_poems": 2}
    server = build_page(PoemWriter(model, vocab), fields)
    url = launch(server, "127.0.0.1", 0, block=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        page.locator("#acrostic textarea").fill(args.acrostic)
        page.locator("#write").click()
        page.wait_for_selector("#poems .poem p")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out), full_page=True)
        browser.close()
    server.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
