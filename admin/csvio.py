"""CSV import and export of the centre's data. An export lists every row the user sees under
the kind's columns (UTF-8 with a BOM, so Excel opens Thai text); importing it back changes
nothing. An import matches rows by their code (lines: number), adds or changes each through
admin/service.save, and stores all lines or none: every bad line is named with its field."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy.orm import Session

from admin import service
from console.errors import N_, DomainError, ImportFailed, ValidationFailed
from console.models import User
from console.service import record_audit

BOM = "\ufeff"


def export_csv(*, session: Session, actor: User, kind: str) -> str:
    """The rows of a kind the user sees, as CSV text."""
    rows = service.list_rows(session=session, actor=actor, kind=kind)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(service.COLUMNS[kind])
    for row in rows:
        values = service.values(session, kind, row)
        writer.writerow([service.as_text(values[c]) for c in service.COLUMNS[kind]])
    return BOM + out.getvalue()


def _decode(data: bytes) -> str:
    """UTF-8 (with or without a BOM), else Thai Windows (cp874, as older Excel saves it)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("cp874")
        except UnicodeDecodeError:
            raise DomainError(N_("The file could not be read: save it as CSV (UTF-8) and "
                                 "import it again.")) from None


def records(reader, header: list[str], problems: list[tuple[int, str, str, dict]],
            max_rows: int | None = None):
    """The lines after the header as (line number, {column: cell}): blank lines skipped; a line
    that is not CSV, one too many or one with the wrong number of cells is added to `problems`
    (the first two end the file). Shared by every CSV import (centre data, rosters)."""
    max_rows = service.MAX_ROWS if max_rows is None else max_rows
    count = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            problems.append((reader.line_num, "-", N_("This line could not be read as CSV."),
                             {}))
            return
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        count += 1
        if count > max_rows:
            problems.append((line, "-", N_("Too many lines: at most %(max)s per file."),
                             {"max": max_rows}))
            return
        if len(cells) != len(header):
            problems.append((line, "-", N_("This line has %(found)s cells; the first line "
                                           "names %(expected)s columns."),
                             {"found": len(cells), "expected": len(header)}))
            continue
        record: dict[str, Any] = dict(zip(header, cells, strict=True))
        yield line, record


def _column(path: str) -> str:
    """'services.1' -> 'services' (the CSV column of a field error)."""
    return path.split(".", 1)[0]


def import_csv(*, session: Session, actor: User, kind: str, data: bytes
               ) -> service.ImportResult:
    """Add or change the rows of a CSV file, all or none (raises ImportFailed naming each bad
    line and field; the caller rolls back). The import itself is audited with its counts."""
    service.check_open(actor, kind)
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[tuple[int, str, str, dict]] = []
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error):
        header = []
    if not header:
        raise ImportFailed([(1, "-", N_("The first line must name these columns: "
                                                "%(columns)s."),
                                     {"columns": ", ".join(service.COLUMNS[kind])})])
    expected = service.COLUMNS[kind]
    missing = [c for c in expected if c not in header]
    unknown = [h for h in header if h not in expected]
    if missing or unknown:
        raise ImportFailed([(1, ", ".join(missing or unknown), N_(
            "The first line must name these columns: %(columns)s."),
            {"columns": ", ".join(expected)})])
    result = service.ImportResult()
    seen: dict[str, int] = {}
    left_out: list[tuple[int, list[int]]] = []
    for line, record in records(reader, header, problems):
        key = record.get(service.KEY[kind], "").strip().upper()
        if key and key in seen:
            problems.append((line, service.KEY[kind], N_("Also on line %(line)s: each row "
                                                         "once per file."), {"line": seen[key]}))
            continue
        seen[key] = line
        try:
            # NOTE: save() checks a line fully before writing it, so a refused line leaves
            # nothing behind; the caller rolls the whole file back when any line is refused.
            row = service.save(session=session, actor=actor, kind=kind, data=record, via="csv",
                               check_members=False)
        except ValidationFailed as exc:
            for path, (message, params) in exc.errors.items():
                problems.append((line, _column(path), message, params))
            continue
        except DomainError as exc:
            problems.append((line, "-", exc.message, exc.params))
            continue
        change = row._admin_change
        setattr(result, change, getattr(result, change) + 1)
        result.ids.append(service.row_key(kind, row))
        if kind == "teams" and row._left_out:
            left_out.append((line, row._left_out))
    for line, ids in left_out:
        try:
            service.check_left_out(session=session, left_out=ids)
        except ValidationFailed as exc:
            for path, (message, params) in exc.errors.items():
                problems.append((line, path, message, params))
    if problems:
        raise ImportFailed(sorted(problems, key=lambda p: p[0]))
    record_audit(session=session, actor_id=actor.id, action=f"{service.ENTITY[kind]}.imported",
                 entity=service.ENTITY[kind], entity_id=None,
                 detail={"created": result.created, "updated": result.updated,
                         "unchanged": result.unchanged})
    return result
