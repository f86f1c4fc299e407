"""Kura's benchmark harness: `python -m bench` (or `bench/run.sh`). Not part of the test run."""
