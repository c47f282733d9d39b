"""Raw talking-head videos -> training clips (the program: ``latentsync.cli.data_processing``; ``--help`` lists its options)."""
from latentsync.cli.data_processing import main

if __name__ == "__main__":
    raise SystemExit(main())
