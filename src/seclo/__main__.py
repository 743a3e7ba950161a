"""`python -m seclo` runs the command line."""

from seclo.cli import main

main()
