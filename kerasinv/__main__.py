"""``python -m kerasinv``: the same command line as ``kerasinv``."""

from kerasinv.cli import main

if __name__ == "__main__":
    main(prog_name="kerasinv")
