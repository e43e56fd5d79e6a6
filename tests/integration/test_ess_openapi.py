"""The OpenAPI document matches the live API (both databases), and schemathesis finds no 5xx."""

from __future__ import annotations

import io
import json

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.ess_helpers import TOKYO, make_api_key, png_bytes, report_body


@pytest.fixture
def doc(app):
    return app.test_client().get("/api/v1/openapi.json").json


def conforms(doc: dict, path: str, method: str, resp) -> None:
    """The response's status is documented and its body validates against the schema."""
    responses = doc["paths"][path][method]["responses"]
    assert str(resp.status_code) in responses, (resp.status_code, resp.json)
    schema = responses[str(resp.status_code)]["content"]["application/json"]["schema"]
    validator = jsonschema_rs.validator_for({**schema, "components": doc["components"]})
    errors = [e.message for e in validator.iter_errors(resp.json)]
    assert errors == [], (errors, resp.json)


def test_live_responses_match_the_document(app, doc, tmp_path):
    app.config["ESS_ATTACHMENT_DIR"] = str(tmp_path)
    http, key = app.test_client(), {"X-Api-Key": make_api_key(app)}
    post, get = "/api/v1/reports", "/api/v1/reports/{report_id}"
    created = http.post(post, json=report_body(), headers=key)
    conforms(doc, post, "post", created)
    with_photo = http.post(post, data={"report": json.dumps(report_body()),
                                       "photos": [(io.BytesIO(png_bytes()), "p")]},
                           content_type="multipart/form-data", headers=key)
    conforms(doc, post, "post", with_photo)
    for bad in (dict(json={"category": 1}), dict(json=report_body(lat_lon=TOKYO)),
                dict(data="x", content_type="application/json")):
        conforms(doc, post, "post", http.post(post, headers=key, **bad))
    conforms(doc, post, "post", http.post(post, json=report_body()))
    headers = {**key, "Idempotency-Key": "k"}
    http.post(post, json=report_body(), headers=headers)
    conforms(doc, post, "post", http.post(post, json=report_body(contact="x"), headers=headers))
    url = f"/api/v1/reports/{created.json['id']}"
    conforms(doc, get, "get", http.get(url, headers={**key, "X-Report-Token":
                                                     created.json["token"]}))
    conforms(doc, get, "get", http.get(url, headers={**key, "X-Report-Token": "wrong"}))
    app.config["ESS_API_KEY_LIMIT"] = "1 per minute"
    http.get(url, headers=key)
    conforms(doc, get, "get", http.get(url, headers=key))


def test_docs_page_is_offline_and_lists_every_operation(app, doc):
    page = app.test_client().get("/api/v1/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<script" not in html and "http" not in html.lower()
    for path in doc["paths"]:
        assert path in html


def test_schemathesis_finds_no_server_error(app, tmp_path):
    """Up to 30 generated requests per operation (valid and invalid): never a 5xx."""
    app.config.update(ESS_ATTACHMENT_DIR=str(tmp_path), ESS_API_KEY_LIMIT="10000 per minute",
                      ESS_API_IP_LIMIT="10000 per minute")
    headers = {"X-Api-Key": make_api_key(app)}
    api_schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 2
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)
        def run(case):
            response = case.call(headers=headers)
            assert response.status_code < 500, (case.method, case.path, response.text)

        run()
