"""`python -m seclo` runs the command line."""

from seclo.cli import main

# Guarded: `seclo serve` starts a worker process with the "spawn" method, which imports this module again.
if __name__ == "__main__":
    main()
