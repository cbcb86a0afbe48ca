"""`python -m lit_poetry.evaluate ...`: the same command as `python -m lit_poetry.evaluation ...`."""

from lit_poetry.evaluation import main

if __name__ == "__main__":
    main()
