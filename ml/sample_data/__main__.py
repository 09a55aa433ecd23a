"""``python -m ml.sample_data``: generate a synthetic export or fit its parameters."""

from ml.sample_data import main

raise SystemExit(main())
