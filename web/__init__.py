"""The crew's web app (`pot serve`, SPEC §6): a second front end over `ledger/`, beside `cli.py`."""
