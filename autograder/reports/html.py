"""The one way our HTML pages are rendered: Jinja2 with every value escaped.

The feedback reports and the class insight page show text students control
(their ids, the diagnoses of their code), so autoescape is on and an
undefined name is an error, not an empty string.
"""

from __future__ import annotations

from pathlib import Path


def environment(templates: Path):
    """A Jinja2 environment for the templates in ``templates``, with the ``g`` filter (numbers as ``:g``)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["g"] = lambda number: f"{number:g}"
    return env
