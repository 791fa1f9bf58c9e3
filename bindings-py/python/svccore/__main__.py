"""``python -m svccore``: the ``svccore`` command."""

from svccore.cli import command

if __name__ == "__main__":
    command()
