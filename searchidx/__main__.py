"""``python -m searchidx``: the same as the ``searchidx`` command."""

from searchidx.outputs.cli import main

if __name__ == "__main__":
    main()
