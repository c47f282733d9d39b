"""Plot SyncNet training curves from checkpoints (the program: ``latentsync.cli.draw_syncnet_lines``; ``--help`` lists its options)."""
from latentsync.cli.draw_syncnet_lines import main

if __name__ == "__main__":
    raise SystemExit(main())
