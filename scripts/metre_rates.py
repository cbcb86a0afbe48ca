"""Pass rates of real poems under the checker's three levels, per form, and what the table's mending, the
poets' usage and the 多音字 word readings change: a markdown table for docs/results.md.

    python scripts/metre_rates.py                 # 全唐诗's val split (data=tang), its poems of a regular shape
    python scripts/metre_rates.py data=tang300 split=all    # another corpus, every poem

Rows: the table as shipped; without the poets' usage (every reading and rhyme group the 平水韵 lists counts,
as before verse_usage.json's usage part); without mending.py (variants, missing characters, corrections);
without the word readings and common readings of 多音字 (a 多音字 then fits wherever either reading does).
Then the 平 characters that end a rhyming line and still have no 平水韵 group, with their counts, and ten
poems whose verdict the usage changes, with the faults it adds or takes away at each level.
"""

import dataclasses
import sys
from collections import Counter
from pathlib import Path

from hydra import compose, initialize_config_dir

from lit_poetry.data.processing import ProcessingConfig, prepare_poems, split_poems
from lit_poetry.metre import check, improbable_readings
from lit_poetry.metre.patterns import FORM_NAMES, LEVELS
from lit_poetry.metre.table import PING, build_table, shipped_lessons, tone_table
from lit_poetry.resolvers import register_resolvers

ROOT = Path(__file__).resolve().parents[1]


def rates(poems: list[str], table) -> tuple[dict, list, list]:
    """{form: {level: tones passed, "rhyme": passed, "poems": n, "not 近体": n}}, each poem's (tones, rhyme)
    outcome per level, and the relaxed verdicts (poems of a regular shape only)."""
    out: dict[str, Counter] = {}
    verdicts, relaxed_verdicts = [], []
    for poem in poems:
        by_level = {level: check(poem, level=level, table=table) for level in LEVELS}
        relaxed = by_level["relaxed"]
        if not relaxed.form:
            continue
        verdicts.append(tuple((v.tones_ok, v.rhyme_ok) for v in by_level.values()))
        relaxed_verdicts.append(relaxed)
        c = out.setdefault(relaxed.form, Counter())
        c["poems"] += 1
        c["rhyme"] += relaxed.rhyme_ok
        c["not 近体"] += relaxed.kind != "近体"
        c["重韵"] += relaxed.repeated_rhyme
        improbable, counted = improbable_readings(relaxed, tone_table())  # by the shipped usage
        c["improbable"] += improbable
        c["counted"] += counted
        for level, v in by_level.items():
            c[level] += v.tones_ok
    return out, verdicts, relaxed_verdicts


def main(overrides: list[str]) -> None:
    register_resolvers()  # the config's ${lit_poetry.cache_dir}
    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        given = any(o.split("=")[0] == "data" for o in overrides)  # 全唐诗 unless another corpus is named
        cfg = compose("evaluate", overrides=overrides if given else ["data=tang", *overrides])
    settings = ProcessingConfig.from_settings(dict(cfg.data))
    prepared = prepare_poems(settings)
    poems = prepared.texts
    if cfg.split != "all":  # the split every other figure uses
        poems = [poems[int(i)] for i in split_poems(prepared, settings)[cfg.split]]
    shipped, lessons = tone_table(), shipped_lessons()
    tables = {"as shipped": shipped,
              "without the poets' usage": build_table(lessons["strains"]),
              "without mending.py": build_table(lessons["strains"], lessons["usage"], mended=False),
              "without 多音字 word readings": dataclasses.replace(shipped, marks={}, words={}, _usual={})}
    results = {name: rates(poems, table) for name, table in tables.items()}
    print("| table | form | poems | tones relaxed | tones strict | tones every | rhyme | 重韵 | 仄韵/古体 | "
          "improbable readings |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, (by_form, _, _) in results.items():
        for form, c in by_form.items():
            n = c["poems"]
            print(f"| {name} | {FORM_NAMES[form]} | {n:,} | " + " | ".join(
                f"{c[k] / n:.1%}" for k in (*LEVELS, "rhyme", "重韵", "not 近体")) +
                f" | {c['improbable'] / max(c['counted'], 1):.2%} |")
    gaps = Counter(v.lines[k][-1] for v in results["as shipped"][2] for k in v.pattern.rhyme_lines
                   if k and not shipped.ping_groups(v.lines[k][-1]) and PING in shipped.tones_of(v.lines[k][-1]))
    print(f"\n平 rhyme characters without a 平水韵 group: {len(gaps)} characters, {gaps.total()} lines: "
          + " ".join(f"{c}{n}({shipped.source.get(c, 'Mandarin')})" for c, n in gaps.most_common()))
    shipped_verdicts = results["as shipped"][1]
    for name in list(tables)[1:]:
        changed = sum(a != b for a, b in zip(shipped_verdicts, results[name][1]))
        print(f"\n{name}: {changed:,} of {len(shipped_verdicts):,} poems ({changed / len(shipped_verdicts):.1%}) "
              "get another verdict (tones or rhyme at some level) than with the table as shipped")
    before = results["without the poets' usage"]
    changed = [v for v, a, b in zip(results["as shipped"][2], shipped_verdicts, before[1]) if a != b]
    print("\nten poems the poets' usage reads otherwise:\n\n| poem | relaxed verdict as shipped | the faults the "
          "usage adds (+) or takes away (-), per level (line.character) |\n|---|---|---|")
    for v in changed[:: max(1, len(changed) // 10)][:10]:
        faults = "; ".join(f"{x.rule} at {x.char} ({x.line}.{x.position})" for x in v.violations
                           if x.rule != "重韵") or "regular"
        print(f"| {'，'.join(v.lines)}。 | {faults} | {usage_changes('，'.join(v.lines), tables)} |")


def usage_changes(poem: str, tables: dict) -> str:
    """The faults the poets' usage adds to `poem`'s verdicts (+) or takes from them (-), level by level."""
    out = []
    for level in LEVELS:
        now, before = ({(x.line, x.position, x.char, x.rule) for x in check(poem, level=level, table=tables[name])
                        .violations} for name in ("as shipped", "without the poets' usage"))
        for sign, faults in (("+", now - before), ("-", before - now)):
            out += [f"{level} {sign}{rule} {char} ({line}.{at})" for line, at, char, rule in sorted(faults)]
    return ", ".join(out)


if __name__ == "__main__":
    main(sys.argv[1:])
