"""Course builder and grader for the practical deep-learning workbook.

Subcommands (``python -m autograder --help``): ``build`` writes the nbgrader
course, ``check`` judges one notebook on the spot.
"""
