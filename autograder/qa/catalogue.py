"""The catalogue: implementations of every graded function, each with the verdict it must get.

Wrong variants are the mistakes students really make; each names the keywords
its diagnosis must contain (every keyword, case, spaces and backticks
ignored). Correct variants are answers written differently from the
reference; they must earn full points. Cheats hand the work to a helper the
student process can import (the support package ``dlwork``, the grader's
stand-ins, the visible checks' stored answers); they must earn nothing: the
hand-written ones adapt a helper's result to the answer's form, and
:func:`delegations` adds, for every function of every such module and every
graded function whose arguments it accepts, one that returns what the helper
returns. ``python -m autograder mutants`` grades every entry through the class
grader's own path and prints the error rates.

A variant is an :class:`~autograder.qa.sample_class.Edit` (or :class:`Edits`, several
at once) of the reference body, which asserts that the text it replaces is still
there, so a change to the reference cannot quietly turn a mistake into a right
answer; or the whole solution cell as a student would write it (:func:`source`).
Other cells of the variant's notebook hold the reference.

A wrong variant also says which checks catch it (``caught_by``): by default
both the notebook's visible check (what the student hears before submitting)
and the hidden checks on their own name it; :data:`VISIBLE` marks a mistake only
the visible check names, :data:`HIDDEN` one the visible check lets through.
``tests/test_visible_checks.py`` runs every variant through its visible check
in-process, ``tests/test_mutants.py`` through the hidden checks alone.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from autograder.course.registry import NOTEBOOKS, notebook_of
from autograder.qa.sample_class import Edit

WRONG, CORRECT, CHEAT = "wrong", "correct", "cheat"
# Which checks catch a wrong variant and name it with its keywords.
BOTH, VISIBLE, HIDDEN = "both", "visible", "hidden"


@dataclass(frozen=True)
class Source:
    """A whole solution cell (``def`` line and body) as a student might write it."""

    text: str


def source(text: str) -> Source:
    return Source(textwrap.dedent(text).strip() + "\n")


@dataclass(frozen=True)
class Edits:
    """Several :class:`Edit` replacements of the reference body, applied in order (each must apply)."""

    pairs: tuple[tuple[str, str], ...]

    def apply(self, stem: str, function: str) -> tuple[str, str]:
        from autograder.course.contract import reference_body

        body = reference_body(stem, function)
        for old, new in self.pairs:
            if old not in body:
                raise ValueError(f"{function}: the reference no longer contains {old!r}")
            body = body.replace(old, new)
        return "", body


def edits(*pairs: tuple[str, str]) -> Edits:
    return Edits(tuple(pairs))


@dataclass(frozen=True)
class Variant:
    id: str
    function: str
    verdict: str  # WRONG or CORRECT
    code: Edit | Edits | Source
    keywords: tuple[str, ...] = ()  # WRONG only: all must appear in the diagnosis
    what: str = ""  # the variant in plain words
    caught_by: str = BOTH  # WRONG only: BOTH, VISIBLE (the hidden checks alone miss or misname it) or HIDDEN

    @property
    def stem(self) -> str:
        return notebook_of(self.function).stem


def wrong(id: str, function: str, code, *keywords: str, what: str = "", caught_by: str = BOTH) -> Variant:
    return Variant(id, function, WRONG, code, tuple(keywords), what, caught_by)


def correct(id: str, function: str, code, what: str = "") -> Variant:
    return Variant(id, function, CORRECT, code, (), what)


def cheat(id: str, function: str, code, what: str = "") -> Variant:
    return Variant(id, function, CHEAT, code, (), what)


# ================================================================ notebook 01: initialization

ZEROS = "initialize_parameters_zeros"
ZW = "np.zeros((layers_dims[l], layers_dims[l - 1]))"
ZB = "np.zeros((layers_dims[l], 1))"
LOOP = "for l in range(1, len(layers_dims)):"

INIT = [
    wrong("zeros-ones", ZEROS, Edit(ZW, "np.ones((layers_dims[l], layers_dims[l - 1]))"), "non-zero", what="weights of ones"),
    wrong(
        "zeros-transposed",
        ZEROS,
        Edit(ZW, "np.zeros((layers_dims[l - 1], layers_dims[l]))"),
        "transposed",
        what="W of shape (n[l-1], n[l])",
    ),
    wrong(
        "zeros-loop-one-short",
        ZEROS,
        Edit(LOOP, "for l in range(1, len(layers_dims) - 1):"),
        "last layer is missing",
        what="the loop stops one layer early",
    ),
    wrong(
        "zeros-layers-dims-1",
        ZEROS,
        Edit(ZW, "np.zeros((layers_dims[1], layers_dims[l - 1]))"),
        "layers_dims[1]",
        what="layers_dims[1] where layers_dims[l] was meant",
    ),
    wrong("zeros-flat-bias", ZEROS, Edit(ZB, "np.zeros(layers_dims[l])"), "column", what="1-D biases"),
    wrong(
        "zeros-integers",
        ZEROS,
        Edit(ZW, "np.zeros((layers_dims[l], layers_dims[l - 1]), dtype=int)"),
        "floating point",
        what="integer weights",
    ),
    wrong(
        "zeros-numbered-from-0",
        ZEROS,
        source("""
        def initialize_parameters_zeros(layers_dims):
            parameters = {}
            for l in range(len(layers_dims) - 1):
                parameters["W" + str(l)] = np.zeros((layers_dims[l + 1], layers_dims[l]))
                parameters["b" + str(l)] = np.zeros((layers_dims[l + 1], 1))
            return parameters
        """),
        "numbered from 1",
        what="layers numbered from 0: keys W0, b0, ...",
        caught_by=VISIBLE,
    ),  # the hidden checks alone say the last layer is missing
    correct(
        "zeros-zip",
        ZEROS,
        source("""
        def initialize_parameters_zeros(layers_dims):
            parameters = {}
            for l, (n_prev, n) in enumerate(zip(layers_dims[:-1], layers_dims[1:]), start=1):
                parameters["W" + str(l)] = np.zeros((n, n_prev))
                parameters["b" + str(l)] = np.zeros((n, 1))
            return parameters
        """),
        what="zip over consecutive sizes",
    ),
    correct("zeros-full", ZEROS, Edit(ZW, "np.full((layers_dims[l], layers_dims[l - 1]), 0.0)"), what="np.full(shape, 0.0)"),
    correct(
        "zeros-comprehension",
        ZEROS,
        source("""
        def initialize_parameters_zeros(layers_dims):
            L = len(layers_dims) - 1
            weights = {f"W{l}": np.zeros((layers_dims[l], layers_dims[l - 1])) for l in range(1, L + 1)}
            biases = {f"b{l}": np.zeros((layers_dims[l], 1)) for l in range(1, L + 1)}
            return {**weights, **biases}
        """),
        what="dict comprehensions, weights first",
    ),
]

RANDOM = "initialize_parameters_random"
RW = "rng.standard_normal((layers_dims[l], layers_dims[l - 1])) * 10"
INIT += [
    wrong(
        "random-without-x10",
        RANDOM,
        Edit(RW, "rng.standard_normal((layers_dims[l], layers_dims[l - 1]))"),
        "plain standard normal",
        what="the large random init without its x10",
    ),
    wrong(
        "random-divided-by-10",
        RANDOM,
        Edit(RW, "rng.standard_normal((layers_dims[l], layers_dims[l - 1])) / 10"),
        "divide",
        what="divided by 10",
    ),
    wrong(
        "random-uniform",
        RANDOM,
        Edit(RW, "rng.random((layers_dims[l], layers_dims[l - 1])) * 10"),
        "uniform",
        what="uniform draws in [0, 10)",
    ),
    wrong(
        "random-uniform-centred",
        RANDOM,
        Edit(RW, "rng.uniform(-10, 10, (layers_dims[l], layers_dims[l - 1]))"),
        "uniform",
        what="uniform draws in [-10, 10)",
    ),
    wrong("random-bias-ones", RANDOM, Edit(ZB, "np.ones((layers_dims[l], 1))"), "biases start at zero", what="biases of ones"),
    wrong(
        "random-bias-random",
        RANDOM,
        Edit(ZB, "rng.standard_normal((layers_dims[l], 1)) * 10"),
        "biases start at zero",
        what="random biases",
    ),
    wrong(
        "random-global-state",
        RANDOM,
        Edit(RW, "np.random.randn(layers_dims[l], layers_dims[l - 1]) * 10"),
        "rng argument",
        what="draws from np.random instead of rng",
    ),
    wrong(
        "random-loop-one-short",
        RANDOM,
        Edit(LOOP, "for l in range(1, len(layers_dims) - 1):"),
        "last layer is missing",
        what="the loop stops one layer early",
    ),
    wrong(
        "random-uniform-same-spread",
        RANDOM,
        Edit(RW, "rng.uniform(-10 * np.sqrt(3), 10 * np.sqrt(3), (layers_dims[l], layers_dims[l - 1]))"),
        "uniform",
        what="uniform draws with the right spread (std 10): only their shape is wrong",
    ),
    wrong(
        "random-fixed-seed",
        RANDOM,
        Edit(LOOP, "rng = np.random.default_rng(0)\n    " + LOOP),
        "rng argument",
        what="a generator of its own, seeded 0, instead of the rng argument",
    ),
    wrong(
        "random-one-draw-per-layer",
        RANDOM,
        Edit(RW, "np.full((layers_dims[l], layers_dims[l - 1]), rng.standard_normal() * 10)"),
        "symmetry",
        what="one draw per layer, copied into every weight",
        caught_by=VISIBLE,
    ),  # the hidden checks alone say the weights are not centred on 0
    wrong(
        "random-transposed",
        RANDOM,
        Edit(RW, "rng.standard_normal((layers_dims[l - 1], layers_dims[l])) * 10"),
        "transposed",
        what="W of shape (n[l-1], n[l])",
    ),
    correct("random-normal", RANDOM, Edit(RW, "rng.normal(0, 10, (layers_dims[l], layers_dims[l - 1]))"), what="rng.normal(0, 10, shape)"),
    correct(
        "random-transposed-draw",
        RANDOM,
        Edit(RW, "10 * rng.standard_normal((layers_dims[l - 1], layers_dims[l])).T"),
        what="a transposed draw of the right distribution",
    ),
    correct(
        "random-in-place",
        RANDOM,
        source("""
        def initialize_parameters_random(layers_dims, rng):
            parameters = {}
            for l in range(1, len(layers_dims)):
                W = rng.standard_normal((layers_dims[l], layers_dims[l - 1]))
                W *= 10
                parameters["W" + str(l)] = W
                parameters["b" + str(l)] = np.zeros((layers_dims[l], 1))
            return parameters
        """),
        what="in-place scaling",
    ),
    correct("random-float32-biases", RANDOM, Edit(ZB, "np.zeros((layers_dims[l], 1), dtype=np.float32)"), what="float32 zero biases"),
]

HE = "initialize_parameters_he"
HS = "np.sqrt(2.0 / fan_in)"
HD = "rng.standard_normal((layers_dims[l], fan_in))"
INIT += [
    wrong(
        "he-current-layer",
        HE,
        Edit(HS, "np.sqrt(2.0 / layers_dims[l])"),
        "current layer",
        what="He scaled by the current layer's size instead of the previous one's",
    ),
    wrong("he-xavier", HE, Edit(HS, "np.sqrt(1.0 / fan_in)"), "LeCun", what="LeCun's 1/n (often called Xavier) instead of He's 2/n"),
    wrong("he-no-square-root", HE, Edit(HS, "(2.0 / fan_in)"), "square root", what="missing square root"),
    wrong("he-unscaled", HE, Edit(f"{HD} * {HS}", HD), "not scaled", what="plain standard normal"),
    wrong("he-uniform", HE, Edit(HD, "rng.random((layers_dims[l], fan_in))"), "uniform", what="uniform draws in [0, 1)"),
    wrong(
        "he-uniform-centred",
        HE,
        Edit(f"{HD} * {HS}", "rng.uniform(-1, 1, (layers_dims[l], fan_in)) * np.sqrt(6.0 / fan_in)"),
        "uniform",
        what="uniform draws with He's variance",
    ),
    wrong("he-bias-ones", HE, Edit(ZB, "np.ones((layers_dims[l], 1))"), "biases start at zero", what="biases of ones"),
    wrong(
        "he-bias-random",
        HE,
        Edit(ZB, "rng.standard_normal((layers_dims[l], 1)) * np.sqrt(2.0 / fan_in)"),
        "biases start at zero",
        what="random biases",
    ),
    wrong("he-transposed", HE, Edit(HD, "rng.standard_normal((fan_in, layers_dims[l]))"), "transposed", what="W of shape (n[l-1], n[l])"),
    wrong(
        "he-loop-one-short",
        HE,
        Edit(LOOP, "for l in range(1, len(layers_dims) - 1):"),
        "last layer is missing",
        what="the loop stops one layer early",
    ),
    wrong(
        "he-layers-dims-1-shape",
        HE,
        Edit(HD, "rng.standard_normal((layers_dims[1], fan_in))"),
        "layers_dims[1]",
        what="layers_dims[1] where layers_dims[l] was meant (shape)",
    ),
    wrong(
        "he-layers-dims-1-scale",
        HE,
        Edit(HS, "np.sqrt(2.0 / layers_dims[1])"),
        "layers_dims[1]",
        what="layers_dims[1] where layers_dims[l-1] was meant (scale)",
    ),
    wrong(
        "he-global-state",
        HE,
        Edit(HD, "np.random.randn(layers_dims[l], fan_in)"),
        "rng argument",
        what="draws from np.random instead of rng",
    ),
    correct(
        "he-normal",
        HE,
        Edit(f"{HD} * {HS}", "rng.normal(0.0, np.sqrt(2.0 / fan_in), (layers_dims[l], fan_in))"),
        what="rng.normal(0, scale, shape)",
    ),
    correct(
        "he-transposed-draw",
        HE,
        Edit(HD, "rng.standard_normal((fan_in, layers_dims[l])).T"),
        what="a transposed draw of the right distribution",
    ),
    correct(
        "he-in-place",
        HE,
        source("""
        def initialize_parameters_he(layers_dims, rng):
            parameters = {}
            L = len(layers_dims) - 1
            for l in range(1, L + 1):
                W = rng.standard_normal((layers_dims[l], layers_dims[l - 1]))
                W *= np.sqrt(2 / layers_dims[l - 1])
                parameters["W" + str(l)] = W
                parameters["b" + str(l)] = np.zeros((layers_dims[l], 1))
            return parameters
        """),
        what="in-place scaling, L + 1 loop bound",
    ),
    correct("he-divide-by-root", HE, Edit(f"{HD} * {HS}", f"{HD} / np.sqrt(fan_in / 2)"), what="divided by sqrt(n/2)"),
]

# ================================================================ notebook 02: L2 regularization

COST = "compute_cost_with_regularization"
SQ = "np.sum(np.square(value))"
FACTOR = "lambd / (2 * m)"
WEIGHTS_ONLY = 'if key.startswith("W")'


def _cost_source(penalty: str) -> Source:
    """compute_cost_with_regularization written out with W1, W2, W3, as the course notes do."""
    return source(f"""
        def compute_cost_with_regularization(A3, Y, parameters, lambd):
            m = Y.shape[1]
            W1 = parameters["W1"]
            W2 = parameters["W2"]
            W3 = parameters["W3"]
            cross_entropy_cost = compute_cost(A3, Y)
            L2_regularization_cost = {penalty}
            cost = cross_entropy_cost + L2_regularization_cost
            return cost
        """)


REG = [
    wrong("cost-lambd-over-m", COST, Edit(FACTOR, "lambd / m"), "lambd/(2m)", what="lambd/m instead of lambd/(2m)"),
    wrong("cost-without-1/m", COST, Edit(FACTOR, "lambd / 2"), "1/m", what="missing 1/m"),
    wrong("cost-m-from-len", COST, Edit("m = Y.shape[1]", "m = len(Y)"), "len(Y)", what="m = len(Y), which is 1"),
    wrong("cost-norm-not-squared", COST, Edit(SQ, "np.linalg.norm(value)"), "not squared", what="Frobenius norm not squared"),
    wrong("cost-square-of-sum", COST, Edit(SQ, "np.sum(value) ** 2"), "square of the sum", what="(sum of W)^2 instead of the sum of W^2"),
    wrong("cost-mean-of-squares", COST, Edit(SQ, "np.mean(np.square(value))"), "np.mean", what="mean of the squares instead of their sum"),
    wrong(
        "cost-with-biases", COST, Edit(WEIGHTS_ONLY, "if key[0] in 'Wb'"), "biases are not penalized", what="biases included in the penalty"
    ),
    wrong(
        "cost-without-W3",
        COST,
        _cost_source("lambd / (2 * m) * (np.sum(np.square(W1)) + np.sum(np.square(W2)))"),
        "W3 is left out",
        what="a layer left out",
    ),
    wrong("cost-penalty-only", COST, Edit("compute_cost(A3, Y) + ", ""), "cross-entropy", what="the cross-entropy term forgotten"),
    wrong("cost-minus-penalty", COST, Edit("compute_cost(A3, Y) + ", "compute_cost(A3, Y) - "), "grow", what="the penalty subtracted"),
    wrong(
        "cost-squares-in-place",
        COST,
        source("""
        def compute_cost_with_regularization(A3, Y, parameters, lambd):
            m = Y.shape[1]
            total = 0.0
            for key in ("W1", "W2", "W3"):
                parameters[key] **= 2
                total += np.sum(parameters[key])
            return compute_cost(A3, Y) + lambd / (2 * m) * total
        """),
        "in place",
        what="squares the caller's weights in place",
        caught_by=VISIBLE,
    ),  # the hidden checks alone give it full points
    correct("cost-w-squared", COST, Edit(SQ, "np.sum(value ** 2)"), what="np.sum(W ** 2)"),
    correct("cost-w-times-w", COST, Edit(SQ, "np.sum(value * value)"), what="np.sum(W * W)"),
    correct("cost-norm-squared", COST, Edit(SQ, "np.linalg.norm(value) ** 2"), what="np.linalg.norm(W) ** 2"),
    correct(
        "cost-written-out",
        COST,
        _cost_source("lambd / (2 * m) * (np.sum(np.square(W1)) + np.sum(np.square(W2)) + np.sum(np.square(W3)))"),
        what="W1, W2, W3 written out",
    ),
    correct(
        "cost-loop-over-keys",
        COST,
        source("""
        def compute_cost_with_regularization(A3, Y, parameters, lambd):
            m = Y.shape[1]
            total = 0.0
            for key in parameters:
                if key[0] == "W":
                    total += np.sum(parameters[key] * parameters[key])
            return compute_cost(A3, Y) + (1 / m) * (lambd / 2) * total
        """),
        what="a loop over the weight keys, (1/m)(lambd/2)",
    ),
    correct("cost-dot-product", COST, Edit(SQ, "float(np.dot(value.ravel(), value.ravel()))"), what="dot product of W with itself"),
]

L2B = "backward_propagation_with_regularization"
TERM = 'gradients[f"dW{l}"] = gradients[f"dW{l}"] + lambd / m * cache[f"W{l}"]'
REG += [
    wrong("l2-back-half", L2B, Edit("lambd / m *", "lambd / (2 * m) *"), "lambd/(2m)", what="lambd/(2m) W"),
    wrong("l2-back-without-1/m", L2B, Edit("lambd / m *", "lambd *"), "1/m", what="lambd W"),
    wrong(
        "l2-back-layer-3-missing",
        L2B,
        Edit("for l in (1, 2, 3):", "for l in (1, 2):"),
        "dW3",
        "L2 term",
        what="the term missing on one layer",
    ),
    wrong(
        "l2-back-into-db",
        L2B,
        Edit(TERM, TERM + '\n        gradients[f"db{l}"] = gradients[f"db{l}"] + lambd / m * cache[f"b{l}"]'),
        "not penalized",
        what="the term added to db",
    ),
    wrong("l2-back-sign", L2B, Edit('gradients[f"dW{l}"] + lambd', 'gradients[f"dW{l}"] - lambd'), "sign", what="the term subtracted"),
    wrong(
        "l2-back-scales-dW",
        L2B,
        Edit(TERM, 'gradients[f"dW{l}"] = gradients[f"dW{l}"] * (1 + lambd / m)'),
        "multiple of W",
        what="dW scaled by (1 + lambd/m) instead of adding lambd/m W",
    ),
    wrong(
        "l2-back-sign-of-W",
        L2B,
        Edit(TERM, TERM.replace('cache[f"W{l}"]', 'np.sign(cache[f"W{l}"])')),
        "multiple of W",
        what="lambd/m sign(W), the L1 term, instead of lambd/m W",
    ),
    wrong(
        "l2-back-changes-cache",
        L2B,
        Edit(TERM, 'cache[f"W{l}"] *= lambd / m\n        gradients[f"dW{l}"] += cache[f"W{l}"]'),
        "in place",
        what="scales the cache's weights in place",
    ),
    correct(
        "l2-back-in-place",
        L2B,
        Edit(TERM, 'gradients[f"dW{l}"] += (lambd / m) * cache[f"W{l}"]'),
        what="in-place += on the fresh gradients",
    ),
    correct(
        "l2-back-by-hand",
        L2B,
        source("""
        def backward_propagation_with_regularization(X, Y, cache, lambd):
            m = X.shape[1]
            Z1, A1, W1 = cache["Z1"], cache["A1"], cache["W1"]
            Z2, A2, W2 = cache["Z2"], cache["A2"], cache["W2"]
            A3, W3 = cache["A3"], cache["W3"]
            dZ3 = A3 - Y
            dW3 = 1.0 / m * np.dot(dZ3, A2.T) + lambd * W3 / m
            db3 = 1.0 / m * np.sum(dZ3, axis=1, keepdims=True)
            dA2 = np.dot(W3.T, dZ3)
            dZ2 = np.multiply(dA2, np.int64(Z2 > 0))
            dW2 = 1.0 / m * np.dot(dZ2, A1.T) + lambd * W2 / m
            db2 = 1.0 / m * np.sum(dZ2, axis=1, keepdims=True)
            dA1 = np.dot(W2.T, dZ2)
            dZ1 = np.multiply(dA1, np.int64(Z1 > 0))
            dW1 = 1.0 / m * np.dot(dZ1, X.T) + lambd * W1 / m
            db1 = 1.0 / m * np.sum(dZ1, axis=1, keepdims=True)
            return {"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2, "db2": db2,
                    "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1}
        """),
        what="the whole backward pass by hand, as in the course notes",
    ),
    correct(
        "l2-back-new-dict",
        L2B,
        source("""
        def backward_propagation_with_regularization(X, Y, cache, lambd):
            m = X.shape[1]
            plain = backward_propagation(X, Y, cache)
            grads = {}
            for l in range(1, 4):
                grads["dW" + str(l)] = plain["dW" + str(l)] + (lambd * cache["W" + str(l)]) / m
                grads["db" + str(l)] = plain["db" + str(l)]
            return grads
        """),
        what="a new dict with only dW and db",
    ),
]

DOF = "forward_propagation_with_dropout"
D1 = "D1 = rng.random(A1.shape) < keep_prob"
D2 = "D2 = rng.random(A2.shape) < keep_prob"
S1 = "A1 = A1 * D1 / keep_prob"
S2 = "A2 = A2 * D2 / keep_prob"

REG += [
    wrong("dropout-no-scaling", DOF, edits((S1, "A1 = A1 * D1"), (S2, "A2 = A2 * D2")), "not divided by keep_prob", what="no 1/keep_prob"),
    wrong(
        "dropout-times-keep-prob",
        DOF,
        edits((S1, "A1 = A1 * D1 * keep_prob"), (S2, "A2 = A2 * D2 * keep_prob")),
        "multiplied by keep_prob",
        what="multiplied by keep_prob",
    ),
    wrong(
        "dropout-inverted-mask",
        DOF,
        edits((D1, "D1 = rng.random(A1.shape) > keep_prob"), (D2, "D2 = rng.random(A2.shape) > keep_prob")),
        "inverted",
        what="keeps 1 - keep_prob of the units",
    ),
    wrong(
        "dropout-normal-mask",
        DOF,
        edits((D1, "D1 = rng.standard_normal(A1.shape) < keep_prob"), (D2, "D2 = rng.standard_normal(A2.shape) < keep_prob")),
        "normal draws",
        what="normal draws for the mask",
    ),
    wrong(
        "dropout-on-input",
        DOF,
        Edit("Z1 = W1 @ X + b1", "D0 = rng.random(X.shape) < keep_prob\n    X = X * D0 / keep_prob\n    Z1 = W1 @ X + b1"),
        "input",
        what="dropout on the input layer",
    ),
    wrong(
        "dropout-on-output",
        DOF,
        Edit("A3 = sigmoid(Z3)", "A3 = sigmoid(Z3)\n    D3 = rng.random(A3.shape) < keep_prob\n    A3 = A3 * D3 / keep_prob"),
        "output layer",
        what="dropout on the output layer",
    ),
    wrong(
        "dropout-masks-not-cached",
        DOF,
        edits(('"b1": b1, "D1": D1,', '"b1": b1,'), ('"b2": b2, "D2": D2,', '"b2": b2,')),
        "cache has no 'D1'",
        what="masks not kept in the cache",
    ),
    wrong("dropout-one-mask", DOF, Edit(D2, "D2 = D1"), "identical", what="one mask reused for both layers"),
    wrong(
        "dropout-scaled-mask",
        DOF,
        edits(
            (D1, "D1 = (rng.random(A1.shape) < keep_prob) / keep_prob"),
            (S1, "A1 = A1 * D1"),
            (D2, "D2 = (rng.random(A2.shape) < keep_prob) / keep_prob"),
            (S2, "A2 = A2 * D2"),
        ),
        "other than 0 and 1",
        what="the mask stored with the 1/keep_prob folded in",
    ),
    wrong(
        "dropout-mask-per-unit",
        DOF,
        edits((D1, "D1 = rng.random((A1.shape[0], 1)) < keep_prob"), (D2, "D2 = rng.random((A2.shape[0], 1)) < keep_prob")),
        "one entry per unit and example",
        what="one mask entry per unit, shared by all examples",
    ),
    wrong(
        "dropout-global-state",
        DOF,
        edits((D1, "D1 = np.random.rand(*A1.shape) < keep_prob"), (D2, "D2 = np.random.rand(*A2.shape) < keep_prob")),
        "rng argument",
        what="draws from np.random instead of rng",
    ),
    wrong(
        "dropout-caches-unmasked",
        DOF,
        edits(
            (S1, "A1_dropped = A1 * D1 / keep_prob"),
            ("Z2 = W2 @ A1 + b2", "Z2 = W2 @ A1_dropped + b2"),
            (S2, "A2_dropped = A2 * D2 / keep_prob"),
            ("Z3 = W3 @ A2 + b3", "Z3 = W3 @ A2_dropped + b3"),
        ),
        "mask D1",
        what="the cache keeps A1 and A2 before the mask and the scaling",
    ),
    correct(
        "dropout-bool-mask",
        DOF,
        edits(
            (D1, "D1 = np.less(rng.random(A1.shape), keep_prob)"),
            (S1, "A1 = np.multiply(A1, D1) / keep_prob"),
            (D2, "D2 = np.less(rng.random(A2.shape), keep_prob)"),
            (S2, "A2 = np.multiply(A2, D2) / keep_prob"),
        ),
        what="boolean masks with np.less and np.multiply",
    ),
    correct(
        "dropout-int-mask",
        DOF,
        edits((D1, "D1 = (rng.random(A1.shape) < keep_prob).astype(int)"), (D2, "D2 = (rng.random(A2.shape) < keep_prob).astype(int)")),
        what="integer masks",
    ),
    correct(
        "dropout-float-mask",
        DOF,
        edits((D1, "D1 = (rng.random(A1.shape) < keep_prob).astype(float)"), (D2, "D2 = (rng.random(A2.shape) < keep_prob) * 1.0")),
        what="float masks",
    ),
    correct(
        "dropout-binomial",
        DOF,
        edits((D1, "D1 = rng.binomial(1, keep_prob, A1.shape)"), (D2, "D2 = rng.binomial(1, keep_prob, size=A2.shape)")),
        what="rng.binomial(1, keep_prob, shape)",
    ),
    correct(
        "dropout-greater-than",
        DOF,
        edits((D1, "D1 = rng.random(A1.shape) > 1 - keep_prob"), (D2, "D2 = rng.random(A2.shape) > 1 - keep_prob")),
        what="rng.random(shape) > 1 - keep_prob",
    ),
    correct(
        "dropout-where",
        DOF,
        edits((S1, "A1 = np.where(D1, A1 / keep_prob, 0.0)"), (S2, "A2 = np.where(D2, A2 / keep_prob, 0)")),
        what="np.where",
    ),
    correct(
        "dropout-in-place",
        DOF,
        edits((S1, "A1 *= D1\n    A1 /= keep_prob"), (S2, "A2 *= D2\n    A2 /= keep_prob")),
        what="in-place updates",
    ),
    correct(
        "dropout-mask-before-relu",
        DOF,
        edits(
            (
                "A1 = relu(Z1)\n    D1 = rng.random(A1.shape) < keep_prob\n    A1 = A1 * D1 / keep_prob",
                "D1 = rng.random(Z1.shape) < keep_prob\n    A1 = relu(Z1 * D1) / keep_prob",
            ),
            (
                "A2 = relu(Z2)\n    D2 = rng.random(A2.shape) < keep_prob\n    A2 = A2 * D2 / keep_prob",
                "D2 = rng.random(Z2.shape) < keep_prob\n    A2 = relu(Z2 * D2) / keep_prob",
            ),
        ),
        what="the mask applied to Z inside the ReLU (Z cached unmasked)",
    ),
    correct(
        "dropout-masks-drawn-first",
        DOF,
        source("""
        def forward_propagation_with_dropout(X, parameters, keep_prob, rng):
            m = X.shape[1]
            D1 = rng.random((parameters["W1"].shape[0], m)) < keep_prob
            D2 = rng.random((parameters["W2"].shape[0], m)) < keep_prob
            cache = {"D1": D1, "D2": D2}
            A = X
            for l in (1, 2, 3):
                W, b = parameters["W" + str(l)], parameters["b" + str(l)]
                Z = np.dot(W, A) + b
                A = sigmoid(Z) if l == 3 else relu(Z) * cache["D" + str(l)] / keep_prob
                cache.update({"Z" + str(l): Z, "A" + str(l): A, "W" + str(l): W, "b" + str(l): b})
            return A, cache
        """),
        what="both masks drawn first, then a loop over the layers",
    ),
    correct(
        "dropout-uniform",
        DOF,
        edits((D1, "D1 = rng.uniform(0, 1, A1.shape) < keep_prob"), (D2, "D2 = rng.uniform(size=A2.shape) < keep_prob")),
        what="rng.uniform",
    ),
]

DOB = "backward_propagation_with_dropout"
B2 = 'dA2 = dA2 * cache["D2"] / keep_prob'
B1 = 'dA1 = dA1 * cache["D1"] / keep_prob'


def _back(new2: str, new1: str) -> Edits:
    """The two masking lines of the backward pass (dA2's, then dA1's) replaced."""
    return edits((B2, new2), (B1, new1))


REG += [
    wrong(
        "dropout-back-redrawn",
        DOB,
        _back(
            "dA2 = dA2 * (np.random.rand(*dA2.shape) < keep_prob) / keep_prob",
            "dA1 = dA1 * (np.random.rand(*dA1.shape) < keep_prob) / keep_prob",
        ),
        "reuse",
        what="masks redrawn instead of reused",
    ),
    wrong(
        "dropout-back-no-scaling",
        DOB,
        _back('dA2 = dA2 * cache["D2"]', 'dA1 = dA1 * cache["D1"]'),
        "not divided by keep_prob",
        what="no 1/keep_prob",
    ),
    wrong(
        "dropout-back-layer-1-unscaled",
        DOB,
        _back(B2, 'dA1 = dA1 * cache["D1"]'),
        "dA1 is not divided by keep_prob",
        what="1/keep_prob on one layer only",
    ),
    wrong(
        "dropout-back-times-keep-prob",
        DOB,
        _back('dA2 = dA2 * cache["D2"] * keep_prob', 'dA1 = dA1 * cache["D1"] * keep_prob'),
        "multiplied by keep_prob",
        what="multiplied by keep_prob",
    ),
    wrong("dropout-back-layer-1-unmasked", DOB, _back(B2, "dA1 = dA1"), "not masked with D1", what="only one layer masked"),
    wrong("dropout-back-layer-2-unmasked", DOB, _back("dA2 = dA2", B1), "not masked with D2", what="only layer 1 masked"),
    wrong(
        "dropout-back-redrawn-seeded",
        DOB,
        edits(
            ("m = X.shape[1]", "m = X.shape[1]\n    rng = np.random.default_rng(0)"),
            (B2, "dA2 = dA2 * (rng.random(dA2.shape) < keep_prob) / keep_prob"),
            (B1, "dA1 = dA1 * (rng.random(dA1.shape) < keep_prob) / keep_prob"),
        ),
        "forward pass",
        "mask",
        what="masks redrawn from a generator seeded 0: the same every call, but not the forward pass's",
    ),
    wrong(
        "dropout-back-dW3-before-mask",
        DOB,
        Edit("dW3 = dZ3 @ A2.T / m", 'dW3 = dZ3 @ relu(cache["Z2"]).T / m'),
        "dW3",
        what="dW3 from relu(Z2), the activations before the mask and the scaling",
    ),
    wrong(
        "dropout-back-dW2-before-mask",
        DOB,
        Edit("dW2 = dZ2 @ A1.T / m", 'dW2 = dZ2 @ relu(cache["Z1"]).T / m'),
        "dW2",
        what="dW2 from relu(Z1), the activations before the mask and the scaling",
    ),
    wrong(
        "dropout-back-wrong-mask", DOB, _back(B2, 'dA1 = dA1 * cache["D2"] / keep_prob'), "other layer's mask", what="dA1 masked with D2"
    ),
    wrong(
        "dropout-back-swapped-masks",
        DOB,
        _back('dA2 = dA2 * cache["D1"] / keep_prob', 'dA1 = dA1 * cache["D2"] / keep_prob'),
        "other layer's mask",
        what="each layer masked with the other layer's mask",
    ),
    correct(
        "dropout-back-after-relu",
        DOB,
        edits(
            (f'{B2}\n    dZ2 = dA2 * (cache["Z2"] > 0)', 'dZ2 = dA2 * (cache["Z2"] > 0) * cache["D2"] / keep_prob'),
            (f'{B1}\n    dZ1 = dA1 * (cache["Z1"] > 0)', 'dZ1 = dA1 * (cache["Z1"] > 0) * cache["D1"] / keep_prob'),
        ),
        what="masks applied after the ReLU derivative",
    ),
    correct(
        "dropout-back-relu-of-A",
        DOB,
        edits(('dZ2 = dA2 * (cache["Z2"] > 0)', "dZ2 = dA2 * (A2 > 0)"), ('dZ1 = dA1 * (cache["Z1"] > 0)', "dZ1 = dA1 * (A1 > 0)")),
        what="the ReLU derivative read from the cached (masked) A instead of Z",
    ),
    correct(
        "dropout-back-where",
        DOB,
        _back('dA2 = np.where(cache["D2"], dA2 / keep_prob, 0)', 'dA1 = np.where(cache["D1"], dA1, 0) / keep_prob'),
        what="np.where",
    ),
    correct(
        "dropout-back-in-place",
        DOB,
        _back('dA2 *= cache["D2"]\n    dA2 /= keep_prob', 'dA1 *= cache["D1"]\n    dA1 /= keep_prob'),
        what="in-place updates",
    ),
    correct(
        "dropout-back-multiply",
        DOB,
        _back('dA2 = np.multiply(dA2, cache["D2"]) / keep_prob', 'dA1 = np.multiply(dA1, cache["D1"]) * (1 / keep_prob)'),
        what="np.multiply",
    ),
    correct(
        "dropout-back-recomputed-A",
        DOB,
        Edit(
            'A1, A2, A3 = cache["A1"], cache["A2"], cache["A3"]',
            'A3 = cache["A3"]\n    A1 = relu(cache["Z1"]) * cache["D1"] / keep_prob\n    A2 = relu(cache["Z2"]) * cache["D2"] / keep_prob',
        ),
        what="A1 and A2 recomputed from Z and the masks instead of read from the cache",
    ),
]

# ================================================================ notebook 03: gradient checking

FWD, BWD, GC, GCN = "forward_propagation", "backward_propagation", "gradient_check", "gradient_check_n"
GC_APPROX = "J_minus = forward_propagation(x, theta - epsilon)\n    gradapprox = (J_plus - J_minus) / (2 * epsilon)"
NUMERATOR = "numerator = np.linalg.norm(grad - gradapprox)"
DENOMINATOR = "denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)"

GRAD = [
    wrong("forward-sum", FWD, Edit("J = theta * x", "J = theta + x"), "x + theta", what="theta + x"),
    wrong("forward-x-only", FWD, Edit("J = theta * x", "J = x"), "depends on theta", what="J = x"),
    correct("forward-dot", FWD, Edit("J = theta * x", "J = np.dot(theta, x)"), what="np.dot"),
    correct("forward-swapped", FWD, Edit("J = theta * x", "J = x * theta"), what="x * theta"),
    wrong("backward-theta", BWD, Edit("dtheta = x", "dtheta = theta"), "holding x fixed", what="dJ/dtheta = theta"),
    wrong("backward-J", BWD, Edit("dtheta = x", "dtheta = theta * x"), "J itself", what="returns J"),
    correct("backward-float", BWD, Edit("dtheta = x", "dtheta = 1.0 * x"), what="1.0 * x"),
    wrong(
        "gc-grad-is-gradapprox",
        GC,
        Edit("grad = backward_propagation(x, theta)", "grad = gradapprox"),
        "must come from backward_propagation",
        what="grad = gradapprox: backward never called",
    ),
    wrong(
        "gc-grad-written-out",
        GC,
        Edit("grad = backward_propagation(x, theta)", "grad = x"),
        "does not come from backward_propagation",
        what="the derivative written out instead of calling backward",
    ),
    wrong(
        "gc-J-written-out",
        GC,
        edits(
            ("J_plus = forward_propagation(x, theta + epsilon)", "J_plus = (theta + epsilon) * x"),
            ("J_minus = forward_propagation(x, theta - epsilon)", "J_minus = (theta - epsilon) * x"),
        ),
        "do not come from forward_propagation",
        what="J written out (theta * x) instead of calling forward_propagation",
    ),
    wrong(
        "gc-J-and-grad-written-out",
        GC,
        edits(
            ("J_plus = forward_propagation(x, theta + epsilon)", "J_plus = (theta + epsilon) * x"),
            ("J_minus = forward_propagation(x, theta - epsilon)", "J_minus = (theta - epsilon) * x"),
            ("grad = backward_propagation(x, theta)", "grad = x"),
        ),
        "neither",
        "forward_propagation",
        "backward_propagation",
        what="J and its derivative written out: neither forward nor backward called",
    ),
    wrong(
        "gc-one-sided",
        GC,
        Edit(GC_APPROX, "J_minus = forward_propagation(x, theta)\n    gradapprox = (J_plus - J_minus) / epsilon"),
        "one-sided",
        what="one-sided difference",
    ),
    wrong(
        "gc-over-epsilon",
        GC,
        Edit("(J_plus - J_minus) / (2 * epsilon)", "(J_plus - J_minus) / epsilon"),
        "2*epsilon",
        what="divided by epsilon instead of 2 epsilon",
    ),
    wrong(
        "gc-returns-gradapprox",
        GC,
        Edit("return float(numerator / denominator)", "return gradapprox"),
        "gradapprox itself",
        what="returns gradapprox instead of the difference",
    ),
    wrong(
        "gc-absolute-difference",
        GC,
        Edit("return float(numerator / denominator)", "return float(numerator)"),
        "absolute difference",
        what="no denominator",
    ),
    wrong(
        "gc-norm-of-sum",
        GC,
        Edit(DENOMINATOR, "denominator = np.linalg.norm(grad + gradapprox)"),
        "denominator",
        "grad + gradapprox",
        what="denominator |grad + gradapprox|",
    ),
    wrong(
        "gc-fixed-epsilon",
        GC,
        Edit("J_plus = forward_propagation(x, theta + epsilon)", "epsilon = 1e-7\n    J_plus = forward_propagation(x, theta + epsilon)"),
        "epsilon argument",
        what="ignores the epsilon argument",
    ),
    wrong(
        "gc-squared-norms",
        GC,
        Edit(f"{NUMERATOR}\n    {DENOMINATOR}", "numerator = (grad - gradapprox) ** 2\n    denominator = grad ** 2 + gradapprox ** 2"),
        "squared",
        what="squares instead of norms",
    ),
    wrong(
        "gc-signed-difference",
        GC,
        Edit(NUMERATOR, "numerator = grad - gradapprox"),
        "negative",
        what="grad - gradapprox without its norm: the sign survives",
    ),
    correct(
        "gc-numerator-reversed", GC, Edit(NUMERATOR, "numerator = np.linalg.norm(gradapprox - grad)"), what="numerator in the other order"
    ),
    correct(
        "gc-abs",
        GC,
        Edit(f"{NUMERATOR}\n    {DENOMINATOR}", "numerator = abs(grad - gradapprox)\n    denominator = abs(grad) + abs(gradapprox)"),
        what="abs instead of np.linalg.norm",
    ),
    correct(
        "gc-grad-first",
        GC,
        source("""
        def gradient_check(x, theta, epsilon=1e-7):
            grad = backward_propagation(x, theta)
            thetaplus = theta + epsilon
            thetaminus = theta - epsilon
            gradapprox = (forward_propagation(x, thetaplus) - forward_propagation(x, thetaminus)) / (2 * epsilon)
            difference = np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))
            return difference
        """),
        what="grad first, NumPy float returned",
    ),
]

GCN_LOOP = """    for i in range(theta.shape[0]):
        theta_plus = np.copy(theta)
        theta_plus[i] += epsilon
        J_plus, _ = cost_function(X, Y, vector_to_dictionary(theta_plus, layout))
        theta_minus = np.copy(theta)
        theta_minus[i] -= epsilon
        J_minus, _ = cost_function(X, Y, vector_to_dictionary(theta_minus, layout))
        gradapprox[i] = (J_plus - J_minus) / (2 * epsilon)"""


def _loop(*replacements: tuple[str, str]) -> Edit:
    """The perturbation loop of the reference with some of its text replaced."""
    new = GCN_LOOP
    for old, replacement in replacements:
        if old not in new:
            raise ValueError(f"gradient_check_n: the loop no longer contains {old!r}")
        new = new.replace(old, replacement)
    return Edit(GCN_LOOP, new)


GCN_NORMS = f"{NUMERATOR}\n    {DENOMINATOR}"

GRAD += [
    wrong(
        "gcn-no-copy",
        GCN,
        _loop(("theta_plus = np.copy(theta)", "theta_plus = theta"), ("theta_minus = np.copy(theta)", "theta_minus = theta")),
        "copy",
        what="no copy: theta_plus and theta_minus are theta itself",
    ),
    wrong(
        "gcn-copy-outside-loop",
        GCN,
        _loop(
            ("        theta_plus = np.copy(theta)\n", ""),
            ("        theta_minus = np.copy(theta)\n", ""),
            ("    for i in", "    theta_plus = np.copy(theta)\n    theta_minus = np.copy(theta)\n    for i in"),
        ),
        "afresh",
        what="one copy made before the loop: the perturbations pile up",
    ),
    wrong(
        "gcn-parameters-in-place",
        GCN,
        source("""
        def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, cost_function=None):
            if cost_function is None:
                cost_function = forward_propagation_n
            theta, layout = dictionary_to_vector(parameters)
            grad = gradients_to_vector(gradients, layout)
            gradapprox = []
            for name, shape in layout:
                for index in np.ndindex(*shape):
                    parameters[name][index] += epsilon
                    J_plus, _ = cost_function(X, Y, parameters)
                    parameters[name][index] -= 2 * epsilon
                    J_minus, _ = cost_function(X, Y, parameters)
                    gradapprox.append((J_plus - J_minus) / (2 * epsilon))
            gradapprox = np.array(gradapprox).reshape(-1, 1)
            return np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))
        """),
        "in place",
        what="perturbs the caller's parameters in place and never restores them",
    ),
    wrong(
        "gcn-parameters-restored-by-arithmetic",
        GCN,
        source("""
        def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, cost_function=None):
            if cost_function is None:
                cost_function = forward_propagation_n
            _, layout = dictionary_to_vector(parameters)
            grad = gradients_to_vector(gradients, layout)
            approx = []
            for name, shape in layout:
                for index in np.ndindex(*shape):
                    parameters[name][index] += epsilon
                    J_plus, _ = cost_function(X, Y, parameters)
                    parameters[name][index] -= 2 * epsilon
                    J_minus, _ = cost_function(X, Y, parameters)
                    parameters[name][index] += epsilon
                    approx.append((J_plus - J_minus) / (2 * epsilon))
            gradapprox = np.array(approx).reshape(-1, 1)
            return np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))
        """),
        "in place",
        what="moves the caller's parameters by +eps, -2 eps, +eps: back only up to rounding",
        caught_by=HIDDEN,
    ),  # the visible check allows rounding, the hidden checks want the parameters bit for bit
    wrong(
        "gcn-whole-vector",
        GCN,
        _loop(("theta_plus[i] += epsilon", "theta_plus += epsilon"), ("theta_minus[i] -= epsilon", "theta_minus -= epsilon")),
        "whole vector",
        what="the whole vector perturbed",
    ),
    wrong(
        "gcn-minus-whole-vector",
        GCN,
        _loop(("theta_minus[i] -= epsilon", "theta_minus -= epsilon")),
        "J_minus",
        "whole vector",
        what="the minus branch shifts every entry of theta, the plus branch entry i",
    ),
    wrong(
        "gcn-plus-whole-vector",
        GCN,
        _loop(("theta_plus[i] += epsilon", "theta_plus += epsilon")),
        "J_plus",
        "whole vector",
        what="the plus branch shifts every entry of theta, the minus branch entry i",
    ),
    wrong(
        "gcn-perturbs-X-and-theta",
        GCN,
        _loop(
            (
                "cost_function(X, Y, vector_to_dictionary(theta_plus, layout))",
                "cost_function(X + epsilon, Y, vector_to_dictionary(theta_plus, layout))",
            ),
            (
                "cost_function(X, Y, vector_to_dictionary(theta_minus, layout))",
                "cost_function(X - epsilon, Y, vector_to_dictionary(theta_minus, layout))",
            ),
        ),
        "X as well as theta",
        what="X moved by +/- epsilon together with entry i of theta",
    ),
    wrong(
        "gcn-theta-plus-reused",
        GCN,
        _loop(("vector_to_dictionary(theta_minus, layout)", "vector_to_dictionary(theta_plus, layout)")),
        "J_minus",
        "theta_plus",
        what="theta_plus used for J_minus (difference exactly 1)",
    ),
    wrong(
        "gcn-perturbs-X",
        GCN,
        _loop(
            (
                "cost_function(X, Y, vector_to_dictionary(theta_plus, layout))",
                "cost_function(X + epsilon, Y, vector_to_dictionary(theta, layout))",
            ),
            (
                "cost_function(X, Y, vector_to_dictionary(theta_minus, layout))",
                "cost_function(X - epsilon, Y, vector_to_dictionary(theta, layout))",
            ),
        ),
        "moving X",
        what="the input X perturbed instead of theta",
    ),
    wrong(
        "gcn-one-sided",
        GCN,
        _loop(("        theta_minus[i] -= epsilon\n", ""), ("(J_plus - J_minus) / (2 * epsilon)", "(J_plus - J_minus) / epsilon")),
        "one-sided",
        what="one-sided difference",
    ),
    wrong(
        "gcn-over-epsilon",
        GCN,
        _loop(("(J_plus - J_minus) / (2 * epsilon)", "(J_plus - J_minus) / epsilon")),
        "2*epsilon",
        what="divided by epsilon instead of 2 epsilon",
    ),
    wrong(
        "gcn-L1",
        GCN,
        Edit(
            GCN_NORMS, "numerator = np.sum(np.abs(grad - gradapprox))\n    denominator = np.sum(np.abs(grad)) + np.sum(np.abs(gradapprox))"
        ),
        "L1",
        what="sums of absolute values instead of 2-norms",
    ),
    wrong(
        "gcn-denominator-grad-only",
        GCN,
        Edit(DENOMINATOR, "denominator = np.linalg.norm(grad)"),
        "denominator",
        what="denominator ||grad||",
    ),
    wrong(
        "gcn-denominator-norm-of-sum",
        GCN,
        Edit(DENOMINATOR, "denominator = np.linalg.norm(grad + gradapprox)"),
        "denominator",
        what="denominator ||grad + gradapprox||",
    ),
    wrong(
        "gcn-no-denominator",
        GCN,
        Edit("return float(numerator / denominator)", "return float(numerator)"),
        "denominator",
        what="the numerator alone",
    ),
    wrong(
        "gcn-sorted-gradients",
        GCN,
        Edit(
            "grad = gradients_to_vector(gradients, layout)",
            "grad = np.concatenate([gradients[key].reshape(-1, 1) for key in sorted(gradients)])",
        ),
        "order",
        what="grad stacked in sorted key order, theta in layout order",
    ),
    wrong(
        "gcn-gradients-insertion-order",
        GCN,
        Edit("grad = gradients_to_vector(gradients, layout)", "grad = np.concatenate([g.reshape(-1, 1) for g in gradients.values()])"),
        "order",
        what="grad stacked in the dict's insertion order",
    ),
    wrong(
        "gcn-1d-gradapprox",
        GCN,
        Edit("gradapprox = np.zeros_like(theta)", "gradapprox = np.zeros(theta.shape[0])"),
        "broadcasts",
        what="gradapprox of shape (n,) against grad of shape (n, 1)",
    ),
    wrong(
        "gcn-ignores-cost-function",
        GCN,
        Edit(
            "    if cost_function is None:\n        cost_function = forward_propagation_n\n", "    cost_function = forward_propagation_n\n"
        ),
        "cost_function",
        what="ignores the cost_function argument",
    ),
    wrong(
        "gcn-fixed-epsilon",
        GCN,
        Edit(
            "    theta, layout = dictionary_to_vector(parameters)",
            "    epsilon = 1e-7\n    theta, layout = dictionary_to_vector(parameters)",
        ),
        "epsilon argument",
        what="ignores the epsilon argument",
    ),
    correct(
        "gcn-restore-in-place",
        GCN,
        Edit(
            GCN_LOOP,
            """    for i in range(theta.shape[0]):
        theta[i] += epsilon
        J_plus, _ = cost_function(X, Y, vector_to_dictionary(theta, layout))
        theta[i] -= 2 * epsilon
        J_minus, _ = cost_function(X, Y, vector_to_dictionary(theta, layout))
        theta[i] += epsilon
        gradapprox[i] = (J_plus - J_minus) / (2 * epsilon)""",
        ),
        what="perturbs theta in place and restores it",
    ),
    correct(
        "gcn-numerator-reversed", GCN, Edit(NUMERATOR, "numerator = np.linalg.norm(gradapprox - grad)"), what="numerator in the other order"
    ),
    correct(
        "gcn-sqrt-of-squares",
        GCN,
        Edit(
            GCN_NORMS,
            "numerator = np.sqrt(np.sum((grad - gradapprox) ** 2))\n"
            "    denominator = np.sqrt(np.sum(grad ** 2)) + np.sqrt(np.sum(gradapprox ** 2))",
        ),
        what="2-norms written as square roots of sums of squares",
    ),
    correct(
        "gcn-vectorised",
        GCN,
        source("""
        def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, cost_function=None):
            cost = forward_propagation_n if cost_function is None else cost_function
            theta, layout = dictionary_to_vector(parameters)
            grad = gradients_to_vector(gradients, layout)
            steps = epsilon * np.eye(theta.shape[0])
            J_plus = np.array([cost(X, Y, vector_to_dictionary(theta + step.reshape(-1, 1), layout))[0] for step in steps])
            J_minus = np.array([cost(X, Y, vector_to_dictionary(theta - step.reshape(-1, 1), layout))[0] for step in steps])
            gradapprox = ((J_plus - J_minus) / (2 * epsilon)).reshape(-1, 1)
            return np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))
        """),
        what="vectorised: all perturbations as rows of epsilon * I",
    ),
    correct(
        "gcn-dict-copies",
        GCN,
        source("""
        def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, cost_function=None):
            if cost_function is None:
                cost_function = forward_propagation_n
            _, layout = dictionary_to_vector(parameters)
            grad = gradients_to_vector(gradients, layout)
            approx = []
            for name, shape in layout:
                for index in np.ndindex(*shape):
                    plus = {key: value.copy() for key, value in parameters.items()}
                    minus = {key: value.copy() for key, value in parameters.items()}
                    plus[name][index] += epsilon
                    minus[name][index] -= epsilon
                    approx.append((cost_function(X, Y, plus)[0] - cost_function(X, Y, minus)[0]) / (2 * epsilon))
            gradapprox = np.array(approx).reshape(grad.shape)
            return float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))
        """),
        what="perturbs copies of the parameter dict, entry by entry in layout order",
    ),
    correct(
        "gcn-restore-parameters",
        GCN,
        source("""
        def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, cost_function=None):
            if cost_function is None:
                cost_function = forward_propagation_n
            _, layout = dictionary_to_vector(parameters)
            grad = gradients_to_vector(gradients, layout)
            approx = []
            for name, shape in layout:
                for index in np.ndindex(*shape):
                    original = parameters[name][index]
                    parameters[name][index] = original + epsilon
                    J_plus, _ = cost_function(X, Y, parameters)
                    parameters[name][index] = original - epsilon
                    J_minus, _ = cost_function(X, Y, parameters)
                    parameters[name][index] = original
                    approx.append((J_plus - J_minus) / (2 * epsilon))
            gradapprox = np.array(approx).reshape(-1, 1)
            return np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))
        """),
        what="moves the caller's parameters entry by entry and writes each original value back",
    ),
]

# ================================================================ cheats: delegating to what the student can import

CHEATS = [
    cheat(
        "cheat-zeros-l2-parameters",
        ZEROS,
        source("""
        def initialize_parameters_zeros(layers_dims):
            return {key: value * 0 for key, value in checks.regularization.l2_parameters().items()}
        """),
        what="the visible L2 check's fixed parameters, zeroed",
    ),
    cheat(
        "cheat-cost-quartic-fixture",
        COST,
        source("""
        def compute_cost_with_regularization(A3, Y, parameters, lambd):
            import grader_fixtures
            X = np.zeros((parameters["W1"].shape[1], Y.shape[1]))
            with_penalty, cache = grader_fixtures.quartic_cost(X, Y, parameters)
            penalty = with_penalty - compute_cost(cache["A3"], Y)
            return compute_cost(A3, Y) + lambd / 0.3 * penalty
        """),
        what="the penalty of the grader's stand-in cost, rescaled to lambd",
    ),
    cheat(
        "cheat-cost-plain",
        COST,
        source("""
        def compute_cost_with_regularization(A3, Y, parameters, lambd):
            return compute_cost(A3, Y)
        """),
        what="the given cross-entropy, no penalty",
    ),
    cheat(
        "cheat-l2-back-plain",
        "backward_propagation_with_regularization",
        source("""
        def backward_propagation_with_regularization(X, Y, cache, lambd):
            return backward_propagation(X, Y, cache)
        """),
        what="the given backward pass, no L2 term",
    ),
    cheat(
        "cheat-dropout-forward-plain",
        DOF,
        source("""
        def forward_propagation_with_dropout(X, parameters, keep_prob, rng):
            A3, cache = forward_propagation(X, parameters)
            cache["D1"], cache["D2"] = np.ones_like(cache["A1"]), np.ones_like(cache["A2"])
            return A3, cache
        """),
        what="the given forward pass, masks of ones",
    ),
    cheat(
        "cheat-dropout-forward-stored",
        DOF,
        source("""
        def forward_propagation_with_dropout(X, parameters, keep_prob, rng):
            stored = checks.cases.EXPECTED["backward_propagation_with_dropout"]["cache"]
            cache = {key: np.array(value) for key, value in stored.items()}
            return cache["A3"], cache
        """),
        what="the dropout cache stored for the visible backward check",
    ),
    cheat(
        "cheat-dropout-backward-stored",
        DOB,
        source("""
        def backward_propagation_with_dropout(X, Y, cache, keep_prob):
            if keep_prob == 1:
                return backward_propagation(X, Y, cache)
            return {key: np.array(value) for key, value in checks.cases.EXPECTED["backward_propagation_with_dropout"]["gradients"].items()}
        """),
        what="the gradients stored for the visible check's fixed case (the given backward pass when keep_prob = 1)",
    ),
    cheat(
        "cheat-dropout-backward-plain",
        DOB,
        source("""
        def backward_propagation_with_dropout(X, Y, cache, keep_prob):
            return backward_propagation(X, Y, cache)
        """),
        what="the given backward pass, masks ignored",
    ),
    cheat(
        "cheat-forward-cubic-fixture",
        "forward_propagation",
        source("""
        def forward_propagation(x, theta):
            return checks.stand_ins.forward_cubic(x, theta)
        """),
        what="the visible checks' cubic stand-in",
    ),
    cheat(
        "cheat-gc-stand-in-costs",
        "gradient_check",
        source("""
        def gradient_check(x, theta, epsilon=1e-7):
            import grader_fixtures
            grad = grader_fixtures.linear_backward(x, theta) / 3
            return abs(grad - x) / (abs(grad) + abs(x) + 1e-300)
        """),
        what="the grader's linear stand-in, compared with itself",
    ),
    cheat(
        "cheat-gcn-half-square",
        "gradient_check_n",
        source("""
        def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, cost_function=None):
            return float(checks.stand_ins.cost_half_square(X, Y, parameters)[0]) * 0
        """),
        what="the visible checks' stand-in cost, zeroed: claims every gradient is right",
    ),
]

CATALOGUE: list[Variant] = INIT + REG + GRAD + CHEATS

# The modules of the grader's own that student code can import: the support
# package (every module of it) and the stand-ins, under their student-side name.
HELPER_PACKAGE = "dlwork"
FIXTURES = ("grader_fixtures", "autograder.sandbox.fixtures")


def helper_modules() -> dict[str, str]:
    """Student-side module name -> the module the judge imports it as."""
    import importlib
    import pkgutil

    package = importlib.import_module(HELPER_PACKAGE)
    names = {HELPER_PACKAGE: HELPER_PACKAGE}
    for info in pkgutil.walk_packages(package.__path__, HELPER_PACKAGE + "."):
        names[info.name] = info.name
    names[FIXTURES[0]] = FIXTURES[1]
    return names


def delegations() -> list[Variant]:
    """One cheat per (helper, graded function) whose arguments the helper accepts: ``return helper(<the arguments>)``.

    A helper is every function defined in a module of :func:`helper_modules`,
    private ones included. Each must earn 0 points.
    """
    import importlib
    import inspect

    from autograder.course.registry import reference_module

    variants = []
    for student_name, module_name in helper_modules().items():
        module = importlib.import_module(module_name)
        for name, helper in sorted(vars(module).items()):
            if not inspect.isfunction(helper) or helper.__module__ != module.__name__:
                continue
            signature = inspect.signature(helper)
            for entry in NOTEBOOKS:
                stem = entry.stem
                for function in entry.functions:
                    parameters = list(inspect.signature(getattr(reference_module(stem), function)).parameters.values())
                    required = [p.name for p in parameters if p.default is inspect.Parameter.empty]
                    header = ", ".join(p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}" for p in parameters)
                    for passed in ([p.name for p in parameters], required):
                        try:
                            signature.bind(*passed)
                        except TypeError:
                            continue
                        code = Source(
                            f"def {function}({header}):\n    import {student_name}\n    return {student_name}.{name}({', '.join(passed)})\n"
                        )
                        variants.append(
                            cheat(
                                f"delegate-{student_name}.{name}-{function}",
                                function,
                                code,
                                what=f"returns {student_name}.{name}({', '.join(passed)})",
                            )
                        )
                        break
    return variants


def by_id() -> dict[str, Variant]:
    return {v.id: v for v in [*CATALOGUE, *delegations()]}
