"""Root conftest: only registers the onglass pytest plugin.

Installed (``pip install -e .``), pytest has already loaded it through the ``pytest11`` entry
point of the same name, and this line is a no-op; from a bare checkout it loads it here.
"""

pytest_plugins = ["harness.pytest_plugin"]
