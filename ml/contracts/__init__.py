"""What the ML step agrees on with the rest of the project: the mart's columns (from the dbt
contract), the ml.* tables, run ids, SQL quoting and what every command line shares. Imports
nothing of ours but ml.config."""
