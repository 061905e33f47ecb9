"""Run by the grading kernel before the first cell of a submission.

``python -m autograder build`` copies this file into the course's grading
kernelspec (``jupyter/kernels/<name>/``), whose kernel.json passes it to
ipykernel as ``--IPKernelApp.exec_files``. It runs in the notebook's namespace,
so it leaves no names behind.

* Warnings go to stdout. nbgrader scores a check cell 0 when the cell wrote
  anything to stderr, and a warning is written to stderr: a NumPy
  ``RuntimeWarning`` or a ``warnings.warn`` in correct code would cost the
  points. On stdout the student still sees the warning in the feedback.
* The kernel's address space is capped, so a runaway allocation is a
  ``MemoryError`` in one cell rather than an out-of-memory kill of the kernel,
  which would fail the whole submission (no grades at all).
"""


def _dlwork_grading_setup(memory_limit_bytes: int = 4 * 1024**3) -> None:
    import resource
    import sys
    import warnings

    def showwarning(message, category, filename, lineno, file=None, line=None):
        sys.stdout.write(warnings.formatwarning(message, category, filename, lineno, line))

    warnings.showwarning = showwarning

    try:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard == resource.RLIM_INFINITY or hard > memory_limit_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit_bytes, memory_limit_bytes))
    except (ValueError, OSError):  # a platform without RLIMIT_AS: no cap
        pass


_dlwork_grading_setup()
del _dlwork_grading_setup
