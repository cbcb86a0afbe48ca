"""What each cleaning rule (lit_poetry/data/cleaning.py) touches in a corpus: poems and characters.

    python scripts/cleaning_counts.py                # 全唐诗 (data=tang), a Markdown table for docs/results.md
    python scripts/cleaning_counts.py --corpus song

A line rule counts a poem when it changes the poem's text, and its characters: those it replaced (same
length) or removed. The poem rules count the poems dropped, by reason, and the titles cleaning changed.
"""

import argparse
from collections import Counter

from lit_poetry.data.cleaning import LINE_RULES, clean_poem
from lit_poetry.data.corpora import read_corpus

LINE_MARKS = "a line of punctuation only, or beginning with it"


def touched(before: str, after: str) -> int:
    if len(before) == len(after):
        return sum(a != b for a, b in zip(before, after))
    return len(before) - len(after)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="tang")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    raw = read_corpus(args.corpus, args.data_dir)
    poems, chars, dropped = Counter(), Counter(), Counter()
    titles = 0
    for poem in raw:
        text = "\n".join(poem.lines)
        for name, rule in LINE_RULES.items():
            cleaned = rule(text)
            if cleaned != text:
                poems[name] += 1
                chars[name] += touched(text, cleaned)
            text = cleaned
        clean, reason = clean_poem(poem)
        if clean is None:
            dropped[reason] += 1
        else:
            titles += clean.title != poem.title
            joined = text.replace("\n", "")
            if joined != clean.text:  # a line of punctuation only, or one that began with a mark
                poems[LINE_MARKS] += 1
                chars[LINE_MARKS] += len(joined) - len(clean.text)
    print(f"{args.corpus}: {len(raw):,} poems, {sum(len(p.text) for p in raw):,} characters as published\n")
    print("| rule | poems | characters |\n|---|---|---|")
    for name in [*LINE_RULES, LINE_MARKS]:
        print(f"| {name} | {poems[name]:,} | {chars[name]:,} |")
    for reason, n in sorted(dropped.items()):
        print(f"| poem dropped: {reason} | {n:,} | |")
    print(f"| title changed | {titles:,} | |")


if __name__ == "__main__":
    main()
