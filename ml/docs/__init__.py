"""Documentation tools: the dbt yml of the ml.* tables and the docs-coverage check."""
