"""``python -m autograder <command>``: one entry point for every command."""

from autograder.cli import main

raise SystemExit(main())
