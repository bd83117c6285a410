"""``python -m remotetask``: the same command as ``remotetask`` (used to spawn workers)."""

from remotetask.cli import main

if __name__ == "__main__":
    main()
