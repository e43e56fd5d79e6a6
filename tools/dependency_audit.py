"""Dependency audit in two halves: `fetch` (needs the network, run at install time) writes an
advisory snapshot; `check` (offline, also run by the test suite) judges the pinned versions
against it. README "Dependencies" is the policy.

fetch tries, in order, and records which one answered:
1. pip-audit (installed in .venv-audit from requirements-audit.txt) against the installed
   environment, with its PyPI service (per-release advisories from pypi.org), then OSV;
2. when neither answers (this workplace reaches PyPI's project pages but not its per-release
   JSON, and not api.osv.dev), PyPI's project JSON of every installed distribution: its latest
   release, the advisories PyPI lists for that latest release (they apply to our pin when the
   pin is the latest), and whether our pinned release was yanked.
It never fails the build: unreachable services are said plainly ("SKIPPED ...") and the
snapshot says what was and was not checked.

check fails on: a requirement not pinned with `==`; a known vulnerability of an installed
version that is not allowed in .ci/audit-allow.txt (ID, package, reason, expiry date; an
expired entry counts as not allowed); a pinned release that was yanked. It only warns about a
stale snapshot (older than STALE_DAYS or made for other versions) and about pins behind the
latest release.

    python tools/dependency_audit.py fetch    # writes instance/audit/snapshot.json
    python tools/dependency_audit.py check    # exit 1 when the policy is broken
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements.txt"
SNAPSHOT = ROOT / "instance" / "audit" / "snapshot.json"
ALLOW = ROOT / ".ci" / "audit-allow.txt"
AUDIT_VENV = ROOT / ".venv-audit"
PYPI = os.environ.get("AUDIT_PYPI_URL", "https://pypi.org/pypi")
STALE_DAYS = 30
TIMEOUT = 20


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(path: Path = REQUIREMENTS) -> list[str]:
    """The requirement lines of a requirements file (comments and blanks left out)."""
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def unpinned(lines: list[str]) -> list[str]:
    """Requirements not pinned to one exact version (`name==1.2.3`, extras allowed)."""
    exact = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.!+_-]+$")
    return [line for line in lines if not exact.match(line.replace(" ", ""))]


def pins(lines: list[str]) -> dict[str, str]:
    """Pinned name -> version."""
    out = {}
    for line in lines:
        name, sep, version = line.replace(" ", "").partition("==")
        if sep:
            out[_canonical(name.split("[", 1)[0])] = version
    return out


def installed(python: str) -> dict[str, str]:
    """Every distribution installed in an environment (name -> version)."""
    code = ("import json, importlib.metadata as m; print(json.dumps({d.metadata['Name']: "
            "d.version for d in m.distributions() if d.metadata['Name']}))")
    found = json.loads(subprocess.run([python, "-c", code], check=True, capture_output=True,
                                      text=True).stdout)
    return {_canonical(k): v for k, v in found.items()}


# --- fetch (network) -----------------------------------------------------------------------

def _pip_audit(python: str, service: str) -> dict | None:
    """pip-audit's findings for the environment of `python`, or None when it cannot answer."""
    tool = AUDIT_VENV / "bin" / "pip-audit"
    if not tool.exists():
        return None  # NOTE: `make audit` installs it (requirements-audit.txt).
    env = {**os.environ, "PIPAPI_PYTHON_LOCATION": python}
    try:
        done = subprocess.run([str(tool), "--vulnerability-service", service, "--format", "json",
                               "--progress-spinner", "off", "--timeout", str(TIMEOUT)],
                              capture_output=True, text=True, env=env, timeout=600)
    except (OSError, subprocess.TimeoutExpired):
        return None
    try:
        report = json.loads(done.stdout or "{}")
    except json.JSONDecodeError:
        return None
    deps = report.get("dependencies") or []
    audited = [d for d in deps if "skip_reason" not in d]
    if not audited:
        return None  # NOTE: every package skipped: the service did not answer.
    return {_canonical(d["name"]): {
        "version": d.get("version"),
        "vulns": [{"id": v["id"], "aliases": v.get("aliases", []),
                   "fix_versions": v.get("fix_versions", [])} for v in d.get("vulns", [])],
    } for d in audited}


def _project_json(name: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"{PYPI}/{name}/json", timeout=TIMEOUT) as resp:
            return json.load(resp)
    except (urllib.error.URLError, TimeoutError, OSError, ValueError):
        return None


def _from_project_pages(versions: dict[str, str]) -> dict[str, dict] | None:
    """What PyPI's project pages say about each installed version."""
    def one(item):
        name, version = item
        data = _project_json(name)
        if data is None:
            return name, None
        latest = data.get("info", {}).get("version")
        files = data.get("releases", {}).get(version) or []
        yanked = bool(files) and all(f.get("yanked") for f in files)
        reason = next((f.get("yanked_reason") for f in files if f.get("yanked_reason")), None)
        vulns = []
        if version == latest:
            vulns = [{"id": v.get("id"), "aliases": v.get("aliases", []),
                      "fix_versions": v.get("fixed_in", [])}
                     for v in data.get("vulnerabilities") or []]
        return name, {"version": version, "latest": latest, "vulns": vulns,
                      "vulns_checked": version == latest, "yanked": yanked,
                      "yanked_reason": reason}

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = dict(pool.map(one, sorted(versions.items())))
    if all(v is None for v in results.values()):
        return None
    return {k: v for k, v in results.items() if v is not None}


def fetch(python: str, out: Path = SNAPSHOT) -> dict:
    """Write the advisory snapshot of the environment of `python`; never raises on the
    network."""
    versions = installed(python)
    snapshot = {"fetched_at": datetime.now(UTC).isoformat(), "source": None,
                "requirements": pins(requirement_lines()), "installed": versions,
                "packages": {}, "notes": []}
    if not (AUDIT_VENV / "bin" / "pip-audit").exists():
        snapshot["notes"].append("pip-audit is not installed (make audit installs it)")
    else:
        for service in ("pypi", "osv"):
            found = _pip_audit(python, service)
            if found is not None:
                snapshot["source"] = f"pip-audit ({service})"
                snapshot["packages"] = found
                break
            snapshot["notes"].append(f"pip-audit with the {service} service did not answer")
    pages = _from_project_pages(versions)
    if pages is None:
        snapshot["notes"].append("PyPI project pages unreachable")
    elif snapshot["source"] is None:
        snapshot["source"] = "pypi project pages (advisories of latest releases only)"
        snapshot["packages"] = pages
    else:
        for name, page in pages.items():  # yanked and latest from the pages in any case
            snapshot["packages"].setdefault(name, {}).update(
                {k: page[k] for k in ("latest", "yanked", "yanked_reason")})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(snapshot, indent=1, sort_keys=True))
    return snapshot


# --- check (offline) -------------------------------------------------------------------------

def allowed(path: Path = ALLOW, today: date | None = None) -> tuple[set[tuple[str, str]], list]:
    """(vulnerability id, package) pairs allowed until their expiry, and expired entries."""
    today = today or date.today()
    ok, expired = set(), []
    if not path.exists():
        return ok, expired
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 4:
            raise ValueError(f"{path.name}: 'ID | package | reason | YYYY-MM-DD' expected: {raw}")
        vuln_id, package, _reason, until = parts
        if date.fromisoformat(until) < today:
            expired.append(line)
        else:
            ok.add((vuln_id, _canonical(package)))
    return ok, expired


def check(snapshot: dict | None, lines: list[str], *, today: date | None = None,
          allow_path: Path = ALLOW) -> tuple[list[str], list[str]]:
    """(problems, warnings) of the pinned dependencies against a snapshot."""
    problems = [f"not pinned with ==: {line}" for line in unpinned(lines)]
    warnings: list[str] = []
    if snapshot is None:
        return problems, ["no advisory snapshot: run `make audit` where PyPI is reachable"]
    ok, expired = allowed(allow_path, today)
    warnings += [f"allow-list entry expired (now counts as a problem): {e}" for e in expired]
    fetched = datetime.fromisoformat(snapshot["fetched_at"]).date()
    if ((today or date.today()) - fetched).days > STALE_DAYS:
        warnings.append(f"advisory snapshot from {fetched} is older than {STALE_DAYS} days")
    wanted = pins(lines)
    stale = [n for n, v in wanted.items() if snapshot.get("requirements", {}).get(n) != v]
    if stale:
        warnings.append("snapshot made for other versions of: " + ", ".join(sorted(stale)))
    for name, info in sorted(snapshot.get("packages", {}).items()):
        version = info.get("version")
        for vuln in info.get("vulns", []):
            if (vuln["id"], name) in ok:
                continue
            fix = ", ".join(vuln.get("fix_versions") or []) or "no fixed release yet"
            problems.append(f"{name} {version}: {vuln['id']} (fixed in: {fix})")
        if info.get("yanked"):
            if ("yanked", name) not in ok:
                problems.append(f"{name} {version} was yanked from PyPI: "
                                f"{info.get('yanked_reason') or 'no reason given'}")
        if name in wanted and info.get("latest") and info["latest"] != version:
            warnings.append(f"{name} {version} is behind the latest release {info['latest']}")
    unchecked = sorted(n for n, i in snapshot.get("packages", {}).items()
                       if i.get("vulns_checked") is False)
    if unchecked:
        warnings.append(f"advisories not checked for {len(unchecked)} packages that are not "
                        "their latest release (no per-release advisory service answered): "
                        + ", ".join(unchecked))
    return problems, warnings


def load_snapshot(path: Path = SNAPSHOT) -> dict | None:
    """The last snapshot written by fetch, if any."""
    return json.loads(path.read_text()) if path.exists() else None


def main(argv: list[str]) -> int:
    """`fetch [PYTHON]` or `check`."""
    command = argv[0] if argv else "check"
    if command == "fetch":
        python = argv[1] if len(argv) > 1 else str(ROOT / ".venv" / "bin" / "python")
        snapshot = fetch(python)
        if snapshot["source"] is None:
            print("dependency audit SKIPPED: no advisory source answered ("
                  + "; ".join(snapshot["notes"]) + "); `check` will say so")
        else:
            print(f"dependency audit: advisory snapshot from {snapshot['source']} "
                  f"({len(snapshot['packages'])} packages) in {SNAPSHOT.relative_to(ROOT)}")
            for note in snapshot["notes"]:
                print(f"  note: {note}")
        return 0
    if command == "check":
        problems, warnings = check(load_snapshot(), requirement_lines())
        for warning in warnings:
            print(f"warning: {warning}")
        for problem in problems:
            print(f"PROBLEM: {problem}")
        print("dependency audit: " + ("failed" if problems else "passed"))
        return 1 if problems else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
