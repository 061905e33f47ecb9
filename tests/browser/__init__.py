"""Browser tests (``make test-browser``): the learner's JupyterLab driven in headless Chromium.

A package, so that its ``conftest.py`` is imported as ``browser.conftest`` and does
not replace ``tests/conftest.py``, which other tests import as ``conftest``.
"""
