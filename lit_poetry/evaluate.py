"""`python -m lit_poetry.evaluate ...` (installed: `lit-poetry-evaluate`): see lit_poetry/evaluation.py."""

from lit_poetry.evaluation import main

if __name__ == "__main__":
    main()
