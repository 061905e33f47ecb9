"""Similar submissions: pairs of students whose graded code shares unusual regions (issue 15).

It flags; it never changes a grade, and it reads nothing but the submitted
notebooks and the released ones (no network).

What is compared. Per assignment, each student's *document* is the source of
their graded function cells (the code cells whose nbgrader metadata says
``solution``), concatenated in notebook order; a cell left exactly as
released is left out. The comparison is copydetect's (MOSS-style
fingerprinting). Its normalization (``filter_code``) writes every identifier
as ``V`` (a function name a ``def`` defines as ``F``), every string as ``S``
and drops whitespace and comments, so renamed variables, reformatting and
new comments change nothing. ``filter_code`` lexes with Pygments, about
10 µs a character here (30 s for a class of 1,000), so :func:`normalize`
writes the same text from the standard library's tokenizer, asking
``filter_code`` about each distinct builtin-like name and string literal (the
tests check it equals ``filter_code`` on every catalogue answer; where it
cannot tell, a decorator or a tokenizer error, ``filter_code`` does it). The
fingerprints are copydetect's ``CodeFingerprint``: the hashes of all
``K``-character substrings of the normalized text (window 1, no winnowing:
copydetect's winnowing is pure Python here and slower than the hashing it
saves). The released stubs (``def`` lines, docstrings, the stub body) are
copydetect's ``boilerplate``: a fingerprint that occurs in them counts for
no one.

Common idioms. A fingerprint found in the documents of more than
:func:`common_cap` students (10, or 2% of the class when that is more: MOSS's
``-m 10``, growing with the class) is an idiom, not evidence: it counts
neither in the candidate search nor in the score, so students who all wrote
the textbook answer of a short function are not pairs. (A group of more than
``common_cap`` students sharing one solution is not flagged either: MOSS's
trade-off.)

Speed. Each document is normalized once (in two processes from
``PARALLEL_FROM`` documents on) and fingerprinted once; candidate pairs come from an inverted index
fingerprint -> students, built with NumPy: every pair of students that share a
non-idiom fingerprint gets an estimate (the mean over the two of the share of
their fingerprint positions that are shared). Only pairs whose estimate
reaches ``PREFILTER`` times the threshold are compared exactly with
copydetect's ``compare_files`` (and highlighted with ``highlight_overlap``).

The score of a pair (:attr:`Pair.score`) is the mean of copydetect's two
similarities (``compare_files``), each computed without the idioms: for each
student, the characters of their normalized code in regions shared with the
other, divided by the characters their own code covers with fingerprints
(neither stub nor idiom; at least ``MIN_EVIDENCE``, so that a few shared
characters in code that is all idioms cannot score high). 1.0: everything
each wrote, beyond the release and the idioms, appears in the other's.
``DEFAULT_THRESHOLD`` (0.5) is the recommended threshold: in the tests (a
class of 9) a copy with renamed names, swapped lines, new spacing and
comments scores 0.97 (a verbatim one 1.0), students who wrote the same
answers in their own words 0.21 to 0.36; in the synthetic class of 1,000
(``benchmarks/bench_similarity.py``) copies score 0.95 to 1.0, honest pairs at most 0.37.
(copydetect quirk, kept: with boilerplate, a fingerprint that repeats within
one document keeps only its last position.)
"""

from __future__ import annotations

import builtins
import copy
import html
import io
import json
import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

K = 20  # noise threshold: characters of normalized code per fingerprint (copydetect's default is 25)
WINDOW = 1  # every k-gram is a fingerprint (no winnowing)
COMMON_FLOOR = 10  # a fingerprint in more documents than this (or COMMON_SHARE of the class) is an idiom
COMMON_SHARE = 0.02
MIN_EVIDENCE = 4 * K  # characters of normalized code: a share is at most the shared characters over this
PREFILTER = 0.5  # a pair is compared exactly when its estimate reaches this fraction of the threshold
DEFAULT_THRESHOLD = 0.5  # the recommended threshold (see the module's tests and report)
MAX_NOTEBOOK_BYTES = 20_000_000  # a larger file is skipped
MAX_DOCUMENT_CHARS = 200_000  # graded code beyond this is not compared
PARALLEL_FROM = 300  # documents: from this many on, tokenize in a pool of (at most) two processes
_SEPARATOR = "\n\n"
_NAME = "submission.py"


@dataclass(frozen=True)
class Pair:
    """Two students' submissions of one assignment that share unusual code."""

    a: str  # student id (a < b)
    b: str
    assignment: str  # stem, e.g. "02_regularization"
    score: float  # mean of a_share and b_share, in [0, 1] (see the module docstring)
    functions: tuple[str, ...]  # the graded functions whose code contributed shared regions
    a_html: str  # student a's graded code, HTML-escaped, shared regions wrapped in <mark>...</mark>
    b_html: str  # the same for b
    a_share: float = 0.0  # the share of a's own normalized code (neither stub nor idiom) in regions shared with b
    b_share: float = 0.0  # the same for b


@dataclass
class _Document:
    student: str
    raw: str  # the graded cells, joined
    spans: list[tuple[int, int, str]]  # (start, end, function) of each cell in raw
    filtered: str = ""
    offsets: np.ndarray = field(default_factory=lambda: np.array([]))
    fingerprint: object = None  # copydetect CodeFingerprint (stub fingerprints removed)
    reduced: object = None  # the same without the class's idioms


# ------------------------------------------------------------------ reading notebooks


def _read_notebook(path: Path) -> dict | None:
    """The notebook's JSON, or None: missing, a link, not a regular file, too large, not a notebook."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_NOTEBOOK_BYTES:
            return None
        with os.fdopen(fd, "rb", closefd=False) as stream:
            data = stream.read(MAX_NOTEBOOK_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        nb = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return nb if isinstance(nb, dict) and isinstance(nb.get("cells"), list) else None


def _source(cell: dict) -> str:
    text = cell.get("source", "")
    if isinstance(text, list):
        return "".join(t for t in text if isinstance(t, str))
    return text if isinstance(text, str) else ""


def solution_name(cell) -> str | None:
    """The graded function a cell holds (its nbgrader ``grade_id``), or None for any other cell, however malformed."""
    from autograder.course.contract import nbgrader_meta

    if not isinstance(cell, dict) or cell.get("cell_type") != "code":
        return None
    try:
        meta = nbgrader_meta(cell)
    except AttributeError:  # metadata that is not a mapping
        return None
    return str(meta.get("grade_id", "")) if isinstance(meta, dict) and meta.get("solution") else None


def solution_cells(nb: dict) -> list[tuple[str, str]]:
    """(function, source) of each graded function cell, in notebook order."""
    return [(name, _source(cell)) for cell in nb.get("cells", []) if (name := solution_name(cell)) is not None]


def release_stubs(course: Path, stem: str) -> dict[str, str]:
    """function -> released stub cell: the course's release, else the committed notebook."""
    from autograder.course.registry import NOTEBOOK_DIR

    nb = _read_notebook(Path(course) / "release" / stem / f"{stem}.ipynb") or _read_notebook(NOTEBOOK_DIR / f"{stem}.ipynb")
    return dict(solution_cells(nb)) if nb else {}


def _document(student: str, cells: list[tuple[str, str]], stubs: dict[str, str]) -> _Document:
    parts, spans, at = [], [], 0
    for function, text in cells:
        if function in stubs and text.strip() == stubs[function].strip():
            continue  # untouched: only the code every student starts from
        if parts:
            at += len(_SEPARATOR)
        parts.append(text)
        spans.append((at, at + len(text), function))
        at += len(text)
    raw = _SEPARATOR.join(parts)[:MAX_DOCUMENT_CHARS]
    return _Document(student, raw, spans)


# ------------------------------------------------------------------ fingerprints


def copydetect_filter(code: str):
    """copydetect's own ``filter_code`` (Pygments' Python lexer): normalized code and its offsets."""
    from copydetect.utils import filter_code

    return filter_code(code, _NAME, language="python")


# Names Pygments may lex as other than a plain Name (builtins, their pseudo and magic names, soft keywords): asked of it.
_BUILTINS = frozenset(dir(builtins)) | {
    "self",
    "cls",
    "match",
    "case",
    "type",
    "file",
    "exec",
    "print",
}
_OUT_OF_CONTEXT: dict[tuple[str, bool], str] = {}  # (token, at a line's start) -> copydetect's normalized form of it alone


def _alone(text: str, line_start: bool) -> str:
    """What copydetect writes for one identifier or string literal (cached: a class has few distinct ones)."""
    if text.isidentifier() and not (text in _BUILTINS or text.startswith("_") or "Error" in text or "Warning" in text):
        return "V"  # a plain name (Pygments: Name), asked of Pygments for every new one it would cost seconds
    key = (text, line_start)
    found = _OUT_OF_CONTEXT.get(key)
    if found is None:
        found = copydetect_filter(text)[0] if line_start else copydetect_filter("x=" + text)[0][2:]
        _OUT_OF_CONTEXT[key] = found
    return found


def normalize(code: str):
    """copydetect's ``filter_code`` output for ``code``, about ten times faster; None where it cannot tell.

    Pygments' Python lexer costs about 10 µs a character here (30 s for a
    class of 1,000); the standard library's tokenizer splits the code, and
    each identifier and string literal is normalized by copydetect itself
    (``filter_code`` of that token alone, cached): an identifier after a dot
    is ``V``, after ``def`` ``F``, after ``class`` ``O``, a module name in an
    import is kept; whitespace and comments go. ``tests/test_similarity.py``
    checks that the result equals ``filter_code``'s on every catalogue
    answer. The offsets map each normalized character to where its token
    starts in ``code`` (copydetect's format: index, characters removed
    before it). None (a tokenizer error, a decorator): use
    :func:`copydetect_filter`.
    """
    import keyword
    import tokenize

    skip = (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT, tokenize.ENDMARKER)
    lines = code.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    pieces, where = [], []  # normalized tokens, and where each starts in code
    previous, importing = "", None  # the last significant token; None, "import" or "from"
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            kind, text = tok.type, tok.string
            if kind in skip:
                if kind == tokenize.NEWLINE:
                    previous, importing = "", None
                continue
            if kind == tokenize.ERRORTOKEN or (kind == tokenize.OP and text == "@" and previous == ""):
                return None
            if kind == tokenize.NAME:
                if importing is None and previous == "" and text in ("import", "from"):
                    importing, piece = text, text
                elif importing == "from" and text == "import":
                    importing, piece = "done", text
                elif importing in ("import", "from") and text != "as":
                    piece = text
                elif previous == "def":
                    piece = "F"
                elif previous == "class":
                    piece = "O"
                elif previous == "." and not (text.startswith("__") and text.endswith("__")):
                    piece = "V"
                elif keyword.iskeyword(text):
                    piece = text
                else:
                    piece = _alone(text, False)
            elif kind == tokenize.STRING:
                piece = _alone(text, tok.line[: tok.start[1]].strip() == "")
            else:
                piece = text
            pieces.append(piece)
            where.append(starts[tok.start[0] - 1] + tok.start[1])
            previous = text
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    filtered = "".join(pieces)
    index = np.arange(len(filtered) + 1, dtype=np.int64)
    source = np.append(np.repeat(np.array(where, dtype=np.int64), [len(p) for p in pieces]), len(code))
    return filtered, np.column_stack([index, source - index])


def _filter(raw: str):
    return normalize(raw) or copydetect_filter(raw)


def _filter_all(raws: list[str], workers: int) -> list:
    if workers > 1 and len(raws) >= PARALLEL_FROM:
        import multiprocessing

        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                return pool.map(_filter, raws, chunksize=32)
        except (OSError, ValueError, AssertionError):  # no fork here (or a daemon process): tokenize in this one
            pass
    return [_filter(raw) for raw in raws]


def _fingerprint(filtered: str, raw: str, offsets, boilerplate):
    """copydetect's CodeFingerprint of code already tokenized by ``filter_code``."""
    from copydetect import CodeFingerprint

    fingerprint = CodeFingerprint(_NAME, K, WINDOW, boilerplate=boilerplate, filter=False, fp=io.StringIO(filtered))
    fingerprint.raw_code, fingerprint.offsets = raw, offsets  # as filter=True leaves them, for highlighting
    return fingerprint


def boilerplate_hashes(stubs: dict[str, str]) -> np.ndarray:
    """Every fingerprint of the released stubs, each alone and all joined (as copydetect's CopyDetector takes boilerplate)."""
    from copydetect import CodeFingerprint

    hashes = set()
    for text in [*stubs.values(), _SEPARATOR.join(stubs.values())]:
        filtered, _ = _filter(text)
        hashes |= CodeFingerprint(_NAME, K, 1, filter=False, fp=io.StringIO(filtered)).hashes
    return np.unique(np.array(sorted(hashes), dtype=np.int64))


def common_cap(students: int) -> int:
    """A fingerprint in more than this many of the class's documents is an idiom."""
    return max(COMMON_FLOOR, math.ceil(COMMON_SHARE * students))


# ------------------------------------------------------------------ candidates


def _candidates(docs: list[_Document], cap: int, minimum: float) -> tuple[list[tuple[int, int]], set]:
    """Pairs (i < j) whose estimate reaches ``minimum``, and the idiom fingerprints."""
    n = len(docs)
    hashes, owners, counts = [], [], []
    for i, doc in enumerate(docs):
        index = doc.fingerprint.hash_idx
        if not index:
            continue
        hashes.append(np.fromiter(index.keys(), dtype=np.int64, count=len(index)))
        found = np.fromiter(map(len, index.values()), dtype=np.int64, count=len(index))
        counts.append(found)
        owners.append(np.full(len(index), i, dtype=np.int64))
    if not hashes:
        return [], set()
    hashes, owners, counts = np.concatenate(hashes), np.concatenate(owners), np.concatenate(counts)
    unique, inverse, frequency = np.unique(hashes, return_inverse=True, return_counts=True)
    common = set(unique[frequency > cap].tolist())
    own = frequency[inverse] <= cap
    positions = np.bincount(owners[own], weights=counts[own], minlength=n)  # each document's fingerprint positions, idioms left out
    keep = own & (frequency[inverse] >= 2)
    group, owners, counts = inverse[keep], owners[keep], counts[keep]
    order = np.lexsort((owners, group))
    group, owners, counts = group[order], owners[order], counts[order]
    if len(group) == 0:
        return [], common
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    sizes = np.diff(np.r_[starts, len(group)])
    keys, weight_a, weight_b = [], [], []
    for size in np.unique(sizes):
        first = starts[sizes == size]
        at = first[:, None] + np.arange(size)
        left, right = np.triu_indices(size, 1)
        who, many = owners[at], counts[at]
        keys.append((who[:, left] * n + who[:, right]).ravel())
        weight_a.append(many[:, left].ravel())
        weight_b.append(many[:, right].ravel())
    pair_keys, where = np.unique(np.concatenate(keys), return_inverse=True)
    shared_a = np.bincount(where, weights=np.concatenate(weight_a))
    shared_b = np.bincount(where, weights=np.concatenate(weight_b))
    a, b = pair_keys // n, pair_keys % n
    estimate = 0.5 * (shared_a / np.maximum(positions[a], 1) + shared_b / np.maximum(positions[b], 1))
    chosen = estimate >= minimum
    return list(zip(a[chosen].tolist(), b[chosen].tolist())), common


# ------------------------------------------------------------------ pairs


def _functions(spans, slices) -> set[str]:
    found = set()
    for start, end in zip(slices[0], slices[1]):
        found |= {function for s, e, function in spans if start < e and end > s}
    return found


def _highlight(raw: str, slices) -> str:
    from copydetect.utils import highlight_overlap

    if len(slices) == 0 or len(slices[0]) == 0:
        return html.escape(raw)
    return highlight_overlap(raw, np.asarray(slices), "<mark>", "</mark>", escape_html=True)[0]


def _load(course: Path, assignment: str, students: list[str] | None) -> tuple[list[_Document], dict[str, str]]:
    from autograder.grading.submissions import discover, unsafe_submission

    stubs = release_stubs(course, assignment)
    wanted = set(students) if students is not None else None
    docs = []
    for student, stem in discover(course, [assignment]):
        if wanted is not None and student not in wanted:
            continue
        if unsafe_submission(course, student, stem):
            continue
        nb = _read_notebook(course / "submitted" / student / stem / f"{stem}.ipynb")
        if nb is None:
            continue
        doc = _document(student, solution_cells(nb), stubs)
        if doc.raw.strip():
            docs.append(doc)
    return docs, stubs


def _without_idioms(doc: _Document, common: set):
    """The document's fingerprint without the class's idioms, its own code measured without them too (at least MIN_EVIDENCE)."""
    from copydetect.utils import get_token_coverage

    reduced = copy.copy(doc.fingerprint)
    if common:
        reduced.hashes = {h for h in doc.fingerprint.hashes if h not in common}
        kept = {h: p for h, p in doc.fingerprint.hash_idx.items() if h not in common}
        reduced.hash_idx = kept
        reduced.token_coverage = get_token_coverage(kept, K, len(doc.filtered))
    reduced.token_coverage = max(reduced.token_coverage, MIN_EVIDENCE)
    return reduced


def compare_documents(docs: list[_Document], stubs: dict[str, str], assignment: str, threshold: float, workers: int = 2) -> list[Pair]:
    """The pairs of ``docs`` (one assignment) at or above ``threshold``."""
    from copydetect import compare_files

    if not docs:
        return []
    boilerplate = boilerplate_hashes(stubs)
    unique_raw = list(dict.fromkeys(doc.raw for doc in docs))
    filtered = dict(zip(unique_raw, _filter_all(unique_raw, workers)))
    for doc in docs:
        doc.filtered, doc.offsets = filtered[doc.raw]
        doc.fingerprint = _fingerprint(doc.filtered, doc.raw, doc.offsets, boilerplate)
    candidates, common = _candidates(docs, common_cap(len(docs)), PREFILTER * threshold)
    if not candidates:
        return []
    pairs = []
    for i, j in candidates:
        for doc in (docs[i], docs[j]):
            if doc.reduced is None:
                doc.reduced = _without_idioms(doc, common)
        _, (share_i, share_j), (slices_i, slices_j) = compare_files(docs[i].reduced, docs[j].reduced)
        score = (float(share_i) + float(share_j)) / 2
        if score < threshold:
            continue
        first, second, share_first, share_second, slices_first, slices_second = docs[i], docs[j], share_i, share_j, slices_i, slices_j
        if second.student < first.student:
            first, second, share_first, share_second = second, first, share_second, share_first
            slices_first, slices_second = slices_second, slices_first
        functions = _functions(first.spans, slices_first) | _functions(second.spans, slices_second)
        order = [f for _, _, f in first.spans + second.spans]
        pairs.append(
            Pair(
                a=first.student,
                b=second.student,
                assignment=assignment,
                score=round(min(score, 1.0), 4),
                functions=tuple(sorted(functions, key=order.index)),
                a_html=_highlight(first.raw, slices_first),
                b_html=_highlight(second.raw, slices_second),
                a_share=round(min(float(share_first), 1.0), 4),
                b_share=round(min(float(share_second), 1.0), 4),
            )
        )
    return pairs


def similar_pairs(
    course: Path, assignments: list[str], threshold: float = DEFAULT_THRESHOLD, students: list[str] | None = None
) -> list[Pair]:
    """Pairs at or above threshold, most similar first.

    ``threshold`` is a :attr:`Pair.score` in (0, 1]. Submissions that are
    missing, unreadable, not notebooks, or that
    :func:`~autograder.grading.submissions.unsafe_submission` refuses are
    skipped. ``students`` limits the comparison to those students.
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], not {threshold}")
    course = Path(course)
    pairs = []
    for assignment in assignments:
        docs, stubs = _load(course, assignment, students)
        pairs += compare_documents(docs, stubs, assignment, threshold)
    return sorted(pairs, key=lambda p: (-p.score, p.assignment, p.a, p.b))


def pairs_csv_rows(pairs) -> list[dict]:
    """Plain data for the CSV/JSON next to the report (no HTML)."""
    return [
        {
            "assignment": p.assignment,
            "student_a": p.a,
            "student_b": p.b,
            "score": p.score,
            "a_share": p.a_share,
            "b_share": p.b_share,
            "functions": ";".join(p.functions),
        }
        for p in pairs
    ]
