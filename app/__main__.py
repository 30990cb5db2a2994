"""``python -m app`` is the ``sage`` command."""

from app.cli.main import main

main()
