"""Check a poem's tones and rhymes: each character marked (平 ○, 仄 ●, either ◐, unknown ？) under the
pattern it matched or comes nearest to, every violated position and rule, the rhyme group.

    python -m lit_poetry metre "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"
    python -m lit_poetry metre "朝辞白帝彩云间，..." level=strict       # 王力's marking; level=every: every position
    python -m lit_poetry metre "..." output=json                        # for programs

level=relaxed (the default) reads 一三五不论 with no 孤平 and no 三平尾; strict and every:
lit_poetry/metre/patterns.py. strict=true, the former spelling, still works: it meant every position, so
it is level=every (with a note). Installed, the same command is `lit-poetry-metre`. Exit status 0 when
the poem is regular, 1 when not.
"""

import sys

from lit_poetry.cli import KeyValueParser, guarded, parse_arguments
from lit_poetry.console import print_json, print_text
from lit_poetry.metre.patterns import LEVELS


@guarded
def main(argv: list[str] | None = None) -> int:
    ap = KeyValueParser(description=__doc__)
    ap.add_argument("poem", help="the poem, lines ended by ，。？！；")
    ap.add_argument("--level", default=None, choices=LEVELS)
    ap.add_argument("--strict", default=None, choices=["true", "false"], help="former spelling of level=every")
    ap.add_argument("--output", default="text", choices=["text", "json"])
    args = parse_arguments(ap, argv)
    from lit_poetry.metre.checker import check

    level = args.level or ("every" if args.strict == "true" else "relaxed")
    if args.strict == "true" and not args.level:
        print("note: strict=true is now level=every (every position); level=strict is 王力's marking",
              file=sys.stderr)
    verdict = check(args.poem, level=level)
    print_json(verdict.to_json()) if args.output == "json" else print_text(verdict.report())
    return 0 if verdict.regular else 1
