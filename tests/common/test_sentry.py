"""Sentry against a real local HTTP endpoint standing in for sentry.io: what arrives, and what not."""

from __future__ import annotations

import json

import sentry_sdk
from fastapi import FastAPI
from fastapi.testclient import TestClient

from common.sentry import FILTERED, init_sentry, scrub_event
from common.settings import Settings, load_settings
from tests.doubles import SentryStandIn


def test_nothing_is_initialised_without_a_dsn(settings: Settings) -> None:
    assert init_sentry(settings, program="kura-api") is False


def test_an_unhandled_route_error_arrives_scrubbed_with_release_and_environment(
    sentry: SentryStandIn, app: FastAPI, alice
) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(sentry_dsn=sentry.dsn, sentry_environment="staging", sentry_release="kura@9.9.9")
    assert init_sentry(settings, program="kura-api") is True

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError(f"upstream refused Bearer {alice.token}")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom", headers={**alice.headers, "X-Api-Key": alice.token})
    assert response.status_code == 500
    sentry_sdk.flush(timeout=5)

    [event] = [e for e in sentry.events if e["exception"]["values"][-1]["type"] == "RuntimeError"]
    assert event["release"] == "kura@9.9.9"
    assert event["environment"] == "staging"
    assert event["tags"]["program"] == "kura-api"
    assert event["exception"]["values"][-1]["value"] == f"upstream refused Bearer {FILTERED}"
    headers = {k.lower(): v for k, v in event["request"]["headers"].items()}
    assert headers["authorization"] == FILTERED
    assert headers["x-api-key"] == FILTERED
    assert alice.token not in json.dumps(sentry.envelopes)


def test_scrub_event_cleans_headers_query_messages_and_breadcrumbs() -> None:
    secret = "abcdefghijklmnop1234"
    event = {
        "request": {"headers": {"Authorization": f"Token {secret}", "Cookie": "c=1", "Accept": "*/*"},
                    "query_string": f"q=x&auth=Bearer {secret}"},
        "exception": {"values": [{"type": "E", "value": f"bearer {secret} rejected"}]},
        "logentry": {"message": f"token {secret}"},
        "breadcrumbs": {"values": [{"message": f"sent Bearer {secret}"}, {"message": None}]},
    }
    cleaned = scrub_event(event)
    assert secret not in json.dumps(cleaned)
    assert cleaned["request"]["headers"] == {"Authorization": FILTERED, "Cookie": FILTERED, "Accept": "*/*"}
    assert cleaned["exception"]["values"][0]["value"] == f"bearer {FILTERED} rejected"



def test_logged_errors_become_scrubbed_events_and_info_lines_breadcrumbs(sentry: SentryStandIn) -> None:
    from loguru import logger

    secret = "s3cr3t-t0ken-value-123456"
    init_sentry(load_settings(sentry_dsn=sentry.dsn), program="kura-backup")
    logger.info("checking Bearer {}", secret)
    logger.error("backup failed: token {} refused", secret)
    sentry_sdk.flush(timeout=5)
    sent = [item for item in sentry.items if item.get("level") == "error"]
    assert [e["message"] for e in sent] == [f"backup failed: token {FILTERED} refused"]
    assert f"checking Bearer {FILTERED}" in [c.get("message") for c in sent[0]["breadcrumbs"]["values"]]
    assert secret not in json.dumps(sentry.envelopes)
