"""Visible checks for the graded exercises; call one right below your function::

    checks.check_initialize_parameters_he(initialize_parameters_he)

A check asks your function a short list of questions: keys and shapes, relations
that every correct answer satisfies (the L2 penalty quadruples when all weights
double; dropout with ``keep_prob=1`` changes nothing...), hand-made cases small
enough to work out on paper, the right answers on fixed cases too big for paper
(read from ``expected_values.json``: this package contains no implementation of
any exercise), and the statistics of random draws. When all hold it prints one
line; otherwise it raises :class:`CheckFailure` saying what is wrong, the likely
cause and the idea to revisit. Passing is necessary, not sufficient: the grader
asks more questions.

Stochastic functions are judged by properties (distribution, masks consistent with
outputs), never by replaying particular random draws. Every sample-size choice
notes the standard deviation behind its bound, so a correct function cannot fail
by bad luck.

| module | what |
| --- | --- |
| ``initialization.py``, ``regularization.py``, ``gradient_checking.py`` | the checks of one notebook each: ``check_<function>`` |
| ``mistakes.py`` | the well-known mistakes of each exercise and their explanations (the grader uses them too) |
| ``stand_ins.py`` | stand-ins for the functions an exercise calls by name, and the swap that puts them in place |
| ``cases.py`` | the fixed cases some checks run on, and the right answers stored for them (``expected_values.json``) |
| ``_harness.py`` | running one check: calling the function, counting the questions, reporting |

Every ``check_<function>`` defined in a module of this folder is a name of this
package, so a new notebook's checks need only their own module.
"""

from __future__ import annotations

import importlib
import pkgutil

from dlwork.checks._harness import CheckFailure
from dlwork.checks.stand_ins import call_with_globals

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        _loaded = importlib.import_module(f"{__name__}.{_module.name}")
        globals().update(
            {
                name: value
                for name, value in vars(_loaded).items()
                if name.startswith("check_") and getattr(value, "__module__", None) == _loaded.__name__
            }
        )
del _module, _loaded

__all__ = ["CheckFailure", "call_with_globals", *sorted(name for name in globals() if name.startswith("check_"))]
