"""The decline-risk model: candidates, search, splitting, evaluation, explanation, training,
scoring and the model store. Knows nothing of dbt, publishing or the command line."""
