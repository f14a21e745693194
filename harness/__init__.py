"""The onglass harness: rigs, captures, the monitor, expectations, the pytest plugin and CLI."""
