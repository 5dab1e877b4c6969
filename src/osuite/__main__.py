"""`python -m osuite` is the same as the `osuite` command."""

from osuite.cli import main

main()
