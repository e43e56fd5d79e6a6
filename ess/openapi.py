"""The OpenAPI 3 document of the ESS Help Me app API, and an offline page that renders it."""

from __future__ import annotations

import html
import json
from typing import Any

from dispatch.enums import Category
from ess.service import PUBLIC_STATUS

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
_PUBLIC = sorted(set(PUBLIC_STATUS.values()))


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "Unreadable body", 401: "Missing or unknown API key", 404: "Unknown report or "
            "wrong token", 409: "Idempotency-Key reused with another body", 413: "Too large",
            422: "A message per field (Thai, or English by Accept-Language)",
            429: "Rate limit (per API key and per address)"}
    return {str(c): {"description": text[c], "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}} for c in codes}


def document() -> dict[str, Any]:
    """The whole document (hand-written, kept in step with ess.schemas by a test)."""
    report_in = {
        "type": "object",
        "additionalProperties": False,
        "required": ["category", "position"],
        "properties": {
            "category": {"type": "string", "enum": [c.value for c in Category]},
            "description": {"type": "string", "maxLength": 4000},
            "position": {"$ref": "#/components/schemas/Position"},
            "contact": {"type": ["string", "null"], "maxLength": 120,
                        "description": "Phone or e-mail; leave out to stay anonymous."},
            "client_time": {"type": ["string", "null"], "format": "date-time"},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "1300 ESS Help Me app API", "version": "1",
                 "description": "Citizen reports from the mobile app. Every report becomes an "
                                "incident on the dispatcher desk, or joins an open one nearby."},
        "servers": [{"url": "/"}],
        "security": [{"ApiKey": []}],
        "paths": {
            "/api/v1/reports": {"post": {
                "operationId": "createReport",
                "summary": "Send a report (JSON, or multipart with a `report` part and photos)",
                "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                                "description": "Same key and body: the first answer again."}],
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ReportIn"}},
                    "multipart/form-data": {"schema": {
                        "type": "object", "required": ["report"],
                        "properties": {
                            "report": {"type": "string",
                                       "description": "ReportIn as JSON text"},
                            "photos": {"type": "array", "maxItems": 5, "items": {
                                "type": "string", "format": "binary"}}}}},
                }},
                "responses": {"201": {"description": "Stored; the token is shown only once",
                                      "content": {"application/json": {"schema": {
                                          "$ref": "#/components/schemas/ReportCreated"}}}},
                              **_errors(400, 401, 409, 413, 422, 429)},
            }},
            "/api/v1/reports/{report_id}": {"get": {
                "operationId": "getReport",
                "summary": "The reporter's view: status and public updates",
                "parameters": [
                    {"name": "report_id", "in": "path", "required": True,
                     "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647}},
                    {"name": "X-Report-Token", "in": "header", "required": True,
                     "schema": {"type": "string"}}],
                "responses": {"200": {"description": "Status", "content": {
                    "application/json": {"schema": {
                        "$ref": "#/components/schemas/ReportStatus"}}}},
                    **_errors(401, 404, 429)},
            }},
        },
        "components": {
            "securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header",
                                           "name": "X-Api-Key"}},
            "schemas": {
                "Error": _ERROR,
                "Position": {"type": "object", "additionalProperties": False,
                             "required": ["lat", "lon"], "properties": {
                                 "lat": {"type": "number", "minimum": -90, "maximum": 90},
                                 "lon": {"type": "number", "minimum": -180, "maximum": 180},
                                 "accuracy_m": {"type": ["number", "null"], "minimum": 0,
                                                "maximum": 100000}}},
                "ReportIn": report_in,
                "ReportCreated": {"type": "object", "required": [
                    "id", "number", "token", "status", "attachments", "created_at"],
                    "properties": {
                        "id": {"type": "integer"}, "number": {"type": "string"},
                        "token": {"type": "string"},
                        "status": {"type": "string", "enum": _PUBLIC},
                        "attachments": {"type": "integer"},
                        "created_at": {"type": "string", "format": "date-time"}}},
                "ReportStatus": {"type": "object", "required": [
                    "id", "number", "status", "created_at", "updates"],
                    "properties": {
                        "id": {"type": "integer"}, "number": {"type": ["string", "null"]},
                        "status": {"type": "string", "enum": _PUBLIC},
                        "created_at": {"type": "string", "format": "date-time"},
                        "updates": {"type": "array", "items": {
                            "type": "object", "required": ["at", "status"], "properties": {
                                "at": {"type": "string", "format": "date-time"},
                                "status": {"type": "string", "enum": _PUBLIC}}}}}},
            },
        },
    }


def docs_html() -> str:
    """A plain page listing each operation and the schemas (no script, no CDN)."""
    doc = document()
    parts = [f"<h1>{html.escape(doc['info']['title'])}</h1>",
             f"<p>{html.escape(doc['info']['description'])}</p>",
             "<p>Authenticate with the <code>X-Api-Key</code> header. "
             "Machine-readable: <a href=\"openapi.json\">openapi.json</a>.</p>"]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            parts.append(f"<h2><code>{method.upper()} {html.escape(path)}</code></h2>")
            parts.append(f"<p>{html.escape(op['summary'])}</p><ul>")
            for param in op.get("parameters", []):
                parts.append(f"<li><code>{html.escape(param['name'])}</code> "
                             f"({param['in']}{', required' if param['required'] else ''})</li>")
            parts.append("</ul><table><tr><th>status</th><th>meaning</th></tr>")
            for code, resp in op["responses"].items():
                parts.append(f"<tr><td>{code}</td><td>{html.escape(resp['description'])}"
                             "</td></tr>")
            parts.append("</table>")
    parts.append("<h2>Schemas</h2>")
    for name, schema in doc["components"]["schemas"].items():
        parts.append(f"<h3>{name}</h3><pre>{html.escape(json.dumps(schema, indent=2))}</pre>")
    body = "\n".join(parts)
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>1300 ESS Help Me API</title>"
            "<link rel=\"stylesheet\" href=\"/static/css/api-docs.css\"></head><body>"
            + body + "</body></html>")
