"""`python -m lit_poetry <command> key=value ...`: the commands are listed in lit_poetry/commands/."""

from lit_poetry.commands import main

main()
