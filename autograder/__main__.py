"""``python -m autograder <command>``: one entry point for every command."""

from autograder.course.registry import use_repository_paths

use_repository_paths()

from autograder.cli import main  # noqa: E402  (after the paths are set)

raise SystemExit(main())
