"""Course builder and grader for the practical deep-learning workbook.

``python -m autograder --help`` lists the commands. The package is laid out by
responsibility (CONTRIBUTING.md maps it): ``course`` (the registry, the cell
contract, the builder), ``grading`` (the judge, one notebook, a class, the
gradebook, stock nbgrader), ``hidden`` (the hidden checks), ``sandbox``
(everything that runs student code), ``reports`` (feedback, export) and ``qa``
(the catalogue, mutants, the sample class, the demo); ``cli`` dispatches the
commands and ``options`` defines the options they share.

Importing it changes nothing: entry points put the repository on ``sys.path``
(:func:`autograder.course.registry.use_repository_paths`).
"""
