"""File list and duration histogram of processed clips (the program: ``latentsync.cli.fileslist``; ``--help`` lists its options)."""
from latentsync.cli.fileslist import main

if __name__ == "__main__":
    raise SystemExit(main())
