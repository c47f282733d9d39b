"""Plot SyncNet's distance against the audio offset of a video (the program: ``latentsync.cli.plot_sync_offsets``; ``--help`` lists its options)."""
from latentsync.cli.plot_sync_offsets import main

if __name__ == "__main__":
    raise SystemExit(main())
