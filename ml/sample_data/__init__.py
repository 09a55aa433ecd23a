"""Synthetic sample data in the exact format of the shop's raw export."""

from ml.sample_data.fitting import *  # noqa: F403
from ml.sample_data.fitting import main  # noqa: F401
