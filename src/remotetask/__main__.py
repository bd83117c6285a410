"""``python -m remotetask`` is the ``remotetask`` command."""

from remotetask.cli import main

main()
