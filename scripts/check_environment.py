"""Check that torch, torchvision's compiled ops and diffusers work together (the program:
``latentsync.cli.check_environment``; ``./setup_env.sh`` runs it after installing the packages)."""
from latentsync.cli.check_environment import main

if __name__ == "__main__":
    raise SystemExit(main())
