"""Grading: the judge, one notebook, a whole class, the gradebook, and the stock nbgrader adapter."""
