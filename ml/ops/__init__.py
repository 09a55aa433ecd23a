"""Orchestration: the dbt runner and its build outcome, publish, run log and lock, the
one command-line module. Only the entry points (ml.train, ml.score, ml.pipeline) import it."""
