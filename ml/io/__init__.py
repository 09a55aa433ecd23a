"""The ML step's input and output: reading the feature mart, writing the ml.* tables."""
