"""The dependency policy (README "Dependencies"): every requirement pinned, and no known
vulnerability or yanked release in the pinned set, judged offline against the advisory snapshot
that `make audit` fetched at install time (tools/dependency_audit.py)."""

from __future__ import annotations

from datetime import date

import pytest

from tools import dependency_audit as audit


def test_every_requirement_is_pinned_to_one_version():
    for path in (audit.REQUIREMENTS, audit.ROOT / "requirements-audit.txt"):
        lines = audit.requirement_lines(path)
        assert lines, path
        assert audit.unpinned(lines) == [], path
    assert audit.unpinned(["flask>=3", "psycopg[binary]==3.3.9", "x"]) == ["flask>=3", "x"]


def _snapshot(**packages) -> dict:
    return {"fetched_at": "2026-12-01T00:00:00+00:00", "source": "test",
            "requirements": {"flask": "3.1.3"}, "packages": packages}


def test_check_fails_on_a_vulnerability_unless_allowed_until_a_date(tmp_path):
    lines = ["Flask==3.1.3"]
    vulnerable = _snapshot(flask={"version": "3.1.3", "latest": "3.1.3", "vulns": [
        {"id": "PYSEC-2099-1", "fix_versions": ["3.1.4"]}]})
    allow = tmp_path / "allow.txt"
    problems, _ = audit.check(vulnerable, lines, today=date(2026, 12, 2), allow_path=allow)
    assert problems == ["flask 3.1.3: PYSEC-2099-1 (fixed in: 3.1.4)"]
    allow.write_text("PYSEC-2099-1 | Flask | we never call the affected API | 2027-01-31\n")
    assert audit.check(vulnerable, lines, today=date(2026, 12, 2), allow_path=allow)[0] == []
    problems, warnings = audit.check(vulnerable, lines, today=date(2027, 2, 1), allow_path=allow)
    assert problems and any("expired" in w for w in warnings)


def test_check_fails_on_a_yanked_pin_and_warns_about_stale_snapshots(tmp_path):
    allow = tmp_path / "none.txt"
    yanked = _snapshot(flask={"version": "3.1.3", "latest": "3.1.5", "vulns": [],
                              "yanked": True, "yanked_reason": "broken"})
    problems, warnings = audit.check(yanked, ["Flask==3.1.3"], today=date(2027, 3, 1),
                                     allow_path=allow)
    assert problems == ["flask 3.1.3 was yanked from PyPI: broken"]
    assert any("behind the latest release 3.1.5" in w for w in warnings)
    assert any("older than" in w for w in warnings)
    _, warnings = audit.check(yanked, ["Flask==3.1.4"], today=date(2026, 12, 2),
                              allow_path=allow)
    assert any("other versions of: flask" in w for w in warnings)
    assert audit.check(None, ["Flask==3.1.3"], allow_path=allow)[0] == []


def test_the_pinned_dependencies_pass_the_audit():
    snapshot = audit.load_snapshot()
    if snapshot is None:
        pytest.skip("no advisory snapshot: `make audit` fetches one where PyPI is reachable "
                    "(.ci/run does, before the tests)")
    wanted = audit.pins(audit.requirement_lines())
    if snapshot.get("requirements") != wanted:
        pytest.skip("the advisory snapshot was made for other pins: run `make audit` again")
    problems, warnings = audit.check(snapshot, audit.requirement_lines())
    assert problems == [], "\n".join(problems + ["(warnings)"] + warnings)
