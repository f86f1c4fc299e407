"""The bookmark application: what a bookmark is and everything done to one, used by kura-api and the
`kura` CLI (kura-backup reads only the run-log table's model, kura-monitor nothing).

A package of its own beside common/, not common/bookmarks/ or api/: the CLI uses it as much as the
API does, so under api/ the CLI would import a program's internals, and inside common/ the line
between infrastructure and application would run through one folder. Beside it, each top-level
folder is one kind of thing, and tests/test_architecture.py states the arrows as one rule per folder:
domain/ imports common/ and nothing of the programs.
"""
