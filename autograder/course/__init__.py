"""The course: its registry, the notebook cell contract, the builder and the files it writes into a course."""
