"""``python -m remotetask``: the same as the ``remotetask`` command."""

from remotetask.cli import main

main()
