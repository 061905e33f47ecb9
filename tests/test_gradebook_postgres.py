"""The gradebook writer: batches write what single writes (and nbgrader's own calls) write, and PostgreSQL holds what SQLite holds.

The PostgreSQL gradebook lives on a private server started in a temporary
folder (:mod:`autograder.qa.postgres`; ``make test`` installs the server).
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys

import pytest

from autograder.course.builder import nbgrader_env
from autograder.course.registry import NOTEBOOKS, STEMS
from autograder.grading.classroom import grade_class
from autograder.grading.gradebook import add_students, write_gradebook, write_gradebook_many
from autograder.grading.judge import Verdict
from autograder.grading.notebook import NotebookResult
from autograder.grading.records import result_to_record
from autograder.qa import postgres, sample_class
from autograder.qa.nbgrader_writer import write_with_nbgrader_calls

STAMP = "2026-11-20 12:00:00.000000 UTC"


def make_record(stem: str, student: str, rng: random.Random) -> dict:
    """A record as the grader makes it: every function, some not graded (with a reason)."""
    functions = next(n.functions for n in NOTEBOOKS if n.stem == stem)
    verdicts = []
    for f in functions:
        graded = rng.random() > 0.25
        diagnosis = "" if graded else "Not graded: the cell timed out."
        verdicts.append(Verdict(stem, f, rng.choice([0.0, 0.5, 1.0, 2.0]) if graded else 0.0, 2.0, diagnosis=diagnosis, graded=graded))
    return result_to_record(NotebookResult(stem, "x.ipynb", verdicts), student, "fingerprint")


def dump(db_url: str) -> dict:
    """Everything a gradebook says about the class, keyed by names (row ids differ between gradebooks)."""
    from nbgrader.api import Gradebook

    out: dict = {}
    with Gradebook(db_url) as gb:
        out["students"] = {s.id: (s.first_name, s.last_name) for s in gb.students}
        for stem in STEMS:
            for submission in gb.assignment_submissions(stem):
                key = (submission.student_id, stem)
                out[key] = submission.timestamp
                for nb in submission.notebooks:
                    for g in nb.grades:
                        out[(*key, nb.name, "grade", g.name)] = (g.auto_score, g.manual_score, g.needs_manual_grade)
                    for c in nb.comments:
                        out[(*key, nb.name, "comment", c.name)] = (c.auto_comment, c.manual_comment)
    return out


@pytest.fixture
def gradebooks(built_course, tmp_path):
    """``count`` copies of the built course's empty gradebook (its assignments, no students), as db URLs."""

    def make(count: int) -> list[str]:
        urls = []
        for i in range(count):
            shutil.copy(built_course.root / "gradebook.db", tmp_path / f"gb{i}.db")
            urls.append(f"sqlite:///{tmp_path / f'gb{i}.db'}")
        return urls

    return make


def test_a_batch_writes_what_single_writes_and_nbgrader_calls_write(gradebooks):
    from nbgrader.api import Gradebook

    reference, single, batched = gradebooks(3)
    rng = random.Random(7)
    first = [(make_record(stem, f"s{i}", rng), STAMP) for i in range(6) for stem in STEMS]
    regrade = [(make_record(stem, f"s{i}", rng), "2026-11-21 09:30:00.000000 UTC") for i in range(6) for stem in STEMS]
    for url, write in ((reference, write_with_nbgrader_calls), (single, write_gradebook), (batched, None)):
        with Gradebook(url) as gb:
            for items in (first, regrade[:7]):  # new submissions, then a regrade of some
                if write is None:
                    assert write_gradebook_many(gb, items) == [None] * len(items)
                else:
                    for record, stamp in items:
                        write(gb, record, stamp)
            # An instructor's manual score survives a regrade that says "not graded".
            gb.find_grade("check_gradient_check", "03_gradient_checking", "03_gradient_checking", "s5").manual_score = 1.5
            gb.db.commit()
            rest = [
                (dict(r, graded=False, functions=[dict(f, graded=False, reason="timed out") for f in r["functions"]]), s)
                for r, s in regrade[7:]
            ]
            if write is None:
                assert write_gradebook_many(gb, rest) == [None] * len(rest)
            else:
                for record, stamp in rest:
                    write(gb, record, stamp)
    expected = dump(reference)
    assert len([k for k in expected if len(k) == 2]) == 6 * len(STEMS)  # every submission is there
    manual = expected[("s5", "03_gradient_checking", "03_gradient_checking", "grade", "check_gradient_check")]
    assert manual[1:] == (1.5, False)  # kept, and no longer waiting for a manual grade
    assert dump(single) == expected
    assert dump(batched) == expected


def test_a_bad_record_in_a_batch_costs_only_itself(gradebooks):
    from nbgrader.api import Gradebook, MissingEntry

    (url,) = gradebooks(1)
    rng = random.Random(3)
    items = [(make_record(stem, f"s{i}", rng), STAMP) for i in range(4) for stem in STEMS]
    bad = dict(items[5][0], assignment="99_not_in_the_gradebook")
    items[5] = (bad, STAMP)
    with Gradebook(url) as gb:
        outcomes = write_gradebook_many(gb, items)
    assert [i for i, o in enumerate(outcomes) if o is not None] == [5]
    assert isinstance(outcomes[5], MissingEntry)
    written = dump(url)
    for i, (record, _) in enumerate(items):
        assert ((record["student"], record["assignment"]) in written) == (i != 5), i
    good = items[0][0]
    f = good["functions"][0]
    stem = good["assignment"]
    assert written[(good["student"], stem, stem, "grade", f"check_{f['function']}")][0] == f["points"]


@pytest.fixture(scope="module")
def server():
    with postgres.temporary_server(fsync=False) as running:
        yield running


def test_the_temporary_server_is_private_and_goes_away():
    import psycopg

    with postgres.temporary_server(fsync=False) as running:
        url = running.create_database("probe")
        folder = running.socket_dir
        assert url == f"postgresql+psycopg://postgres@/probe?host={folder}"
        with psycopg.connect(host=str(folder), user="postgres", dbname="probe") as conn:
            assert conn.execute("SHOW listen_addresses").fetchone() == ("",)  # no TCP
        assert any(p.name.startswith(".s.PGSQL.") for p in folder.iterdir())
    assert not folder.exists()
    with pytest.raises(ZeroDivisionError), postgres.temporary_server(fsync=False) as running:
        folder = running.socket_dir
        1 / 0  # noqa: B018 - an error inside the block
    assert not folder.exists()


@pytest.mark.slow
def test_a_class_graded_into_postgresql_matches_sqlite(built_course, tmp_path_factory, server):
    course = built_course.fresh_copy(tmp_path_factory, "pg-class")
    sample_class.write_class(course)
    summary = grade_class(course, workers=2, quiet=True)
    assert summary["graded_now"] == len(sample_class.CLASS) * len(STEMS)

    pg_url = server.create_database("class_gradebook")
    cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", "*", "--force", "--db", pg_url]
    done = subprocess.run(cmd, cwd=course, env=nbgrader_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    add_students(pg_url, {s.name: s.full_name for s in sample_class.CLASS})
    summary = grade_class(course, workers=2, quiet=True, db_url=pg_url, force=True)
    assert summary["graded_now"] == len(sample_class.CLASS) * len(STEMS)

    sqlite, pg = dump(built_course.db_url.replace(str(built_course.root), str(course))), dump(pg_url)
    assert set(sqlite["students"]) == {s.name for s in sample_class.CLASS}
    flagged = [k for k, v in sqlite.items() if len(k) == 5 and k[3] == "grade" and v[2]]
    commented = [k for k, v in sqlite.items() if len(k) == 5 and k[3] == "comment" and v[0]]
    assert flagged and commented, "some cells need a manual grade and say why: the flags and comments are compared too"
    assert pg == sqlite
