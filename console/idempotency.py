"""Desk writes that can be retried: an Idempotency-Key header makes a repeat return the first
answer instead of doing the work twice (a create whose response was lost to a dead process or
network: the call-taker presses Save again and gets the same incident, not a second one)."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from flask import Response, g, jsonify, request
from flask_login import current_user
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from console.db import utcnow
from console.errors import N_, ValidationFailed
from console.models import DeskIdempotency
from console.web import db, error_response

HEADER = "Idempotency-Key"
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
KEEP = timedelta(hours=24)
PRUNE_EVERY = 200
# A twin request still finishing its answer: how long a retry waits for it.
TWIN_WAIT_SECONDS = 3.0


def _request_hash() -> str:
    digest = hashlib.sha256(request.method.encode() + b" " + request.path.encode() + b"\n")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _replay(record: DeskIdempotency) -> Response:
    response = jsonify(record.response_body)
    response.status_code = record.response_status or 200
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(view: Callable) -> Callable:
    """Record the answer of a desk write under the user's Idempotency-Key; replay it on a retry.

    The key row is written in the same transaction as the change (the view's commit), so a
    change is never stored without its key; its answer is stored right after.
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None or not current_user.is_authenticated:
            return view(*args, **kwargs)
        if not KEY_RE.match(key):
            raise ValidationFailed({HEADER: (N_("This value is not valid."), {})})
        request_hash = _request_hash()
        session = db()
        record = DeskIdempotency(user_id=current_user.id, key=key, request_hash=request_hash,
                                 created_at=utcnow())
        session.add(record)
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            return _answer_twin(key, request_hash)
        if record.id % PRUNE_EVERY == 0:
            session.execute(delete(DeskIdempotency).where(
                DeskIdempotency.created_at < utcnow() - KEEP))
        g.idempotency_record = record
        result = view(*args, **kwargs)
        response = result if isinstance(result, Response) else _make_response(result)
        if 200 <= response.status_code < 300 and response.is_json \
                and record.response_status is None:
            # NOTE: a view that did not use commit_answer committed the change with the key
            # row; its answer is stored now (lost only if the process dies in between).
            stored = session.get(DeskIdempotency, record.id)
            if stored is not None:
                stored.response_status = response.status_code
                stored.response_body = response.get_json()
                session.commit()
        return response

    return wrapper


def _make_response(result) -> Response:
    from flask import make_response

    return make_response(result)


def _answer_twin(key: str, request_hash: str):
    """The key was used before: the same request gets the first answer, another is refused."""
    session = db()
    deadline = time.monotonic() + TWIN_WAIT_SECONDS
    while True:
        earlier = session.scalar(select(DeskIdempotency).where(
            DeskIdempotency.user_id == current_user.id, DeskIdempotency.key == key))
        if earlier is None or earlier.request_hash != request_hash:
            return error_response(409, N_("This form was already sent with other content. "
                                          "Please check the board, then send it again."))
        if earlier.response_status is not None:
            return _replay(earlier)
        if time.monotonic() > deadline:
            # NOTE: the change was committed but its answer was lost with its process.
            return error_response(409, N_("This was already saved. Please check the board "
                                          "before sending it again."))
        session.rollback()
        time.sleep(0.1)


def commit_answer(session, body: dict, status: int = 200):
    """Commit the change together with the answer its Idempotency-Key replays on a retry."""
    record = g.get("idempotency_record")
    if record is not None:
        record.response_status = status
        record.response_body = body
    session.commit()
    return jsonify(body), status
