"""``python -m ml.sample_data``: generate a synthetic export or fit its parameters."""

from ml.sample_data.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
