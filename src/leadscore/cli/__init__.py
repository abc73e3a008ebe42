"""The command-line interface; see :mod:`leadscore.cli.main`."""
