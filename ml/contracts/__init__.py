"""What the ML step agrees on with the rest of the project: the mart's columns (from the dbt
contract), the ml.* tables, run ids and SQL quoting. Imports nothing of ours but ml.config."""
