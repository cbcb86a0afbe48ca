"""Regulated verse (格律): the tones and rhymes of Tang verse (table.py), the patterns of 五绝 七绝 五律 七律
(patterns.py), and a checker (checker.py): text in, verdict out. No torch: generation, evaluation and the
page use it.

    python -m lit_poetry metre "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"
"""

from lit_poetry.metre.checker import Verdict, check, improbable_readings
from lit_poetry.metre.patterns import Pattern, patterns
from lit_poetry.metre.table import PING, ZE, ToneTable, tone_table

__all__ = ["PING", "ZE", "Pattern", "ToneTable", "Verdict", "check", "improbable_readings", "patterns", "tone_table"]
