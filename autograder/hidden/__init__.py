"""Hidden checks, one module per notebook, registered with :func:`autograder.grading.judge.part`.

They compare the student's function with the reference computed at grade
time (``source_solutions``), on several seeds and sizes, with numerical
gradients for backward passes and properties for stochastic functions. Each
function is judged with the reference versions of whatever it depends on.
"""
