"""SyncNet confidence (LSE-C) and distance (LSE-D) of videos (the program: ``latentsync.cli.eval_sync_conf``; ``--help`` lists its options)."""
from latentsync.cli.eval_sync_conf import main

if __name__ == "__main__":
    raise SystemExit(main())
