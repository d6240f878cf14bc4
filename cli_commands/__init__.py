"""The `pot` commands, one module per part of a crew's life; `cli.py` loads each on first use."""
