"""Fixtures for the transfer tests: import bytes or a browser fixture file for a user."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from transfer_data import FIXTURES

from common.db import Database
from domain.transfer import ImportOptions, ImportResult, import_file


@pytest.fixture
def import_bytes(db: Database) -> Callable[..., ImportResult]:
    def run(data: bytes, *, user_id: int, **options: Any) -> ImportResult:
        return import_file(db, user_id=user_id, source=io.BytesIO(data), options=ImportOptions(**options))

    return run


@pytest.fixture
def import_fixture(db: Database) -> Callable[..., ImportResult]:
    def run(name: str, *, user_id: int, **options: Any) -> ImportResult:
        with open(FIXTURES / name, "rb") as source:
            return import_file(db, user_id=user_id, source=source, options=ImportOptions(**options))

    return run
