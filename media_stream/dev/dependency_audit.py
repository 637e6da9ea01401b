"""The dependency audit (`scripts/audit`): every locked package, the dev group and all extras
included, checked by pip-audit against a vulnerability service.

Three outcomes, three exit codes, never a silent pass:

* 0: every package was checked and none has a known vulnerability (or only ignored ones);
* 1: known vulnerabilities: each is listed with the versions that fix it (bump the pin in
  pyproject.toml and relock, or, when no fix exists, add the id to ``.pip-audit-ignore`` with
  the reason);
* 2: the audit is incomplete: the service answered but could not look up some packages
  (pip-audit itself reports those as skipped and exits 0, which would read as a pass);
* 3: the audit could not be done: no vulnerability service answered.

The service is PyPI's JSON API (``pypi``, per-release advisories at /pypi/NAME/VERSION/json) or
OSV (``osv``); ``auto`` takes the first that answers.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IGNORE_FILE = ROOT / ".pip-audit-ignore"
PROBES = {
    # a release that exists: its per-release JSON carries the advisories pip-audit reads
    "pypi": ("GET", "https://pypi.org/pypi/pip/24.0/json", None),
    "osv": ("POST", "https://api.osv.dev/v1/query", b'{"package": {"name": "pip", "ecosystem": "PyPI"}, "version": "24.0"}'),
}
EXIT_CLEAN, EXIT_VULNERABLE, EXIT_INCOMPLETE, EXIT_NOT_AUDITED = 0, 1, 2, 3


class AuditUnavailable(Exception):
    """The audit could not be done; the message says why."""


@dataclass
class AuditReport:
    service: str
    audited: int = 0
    vulnerable: list[tuple[str, str, str, list[str]]] = field(default_factory=list)  # name, version, id, fixes
    skipped: list[tuple[str, str]] = field(default_factory=list)  # name, why
    ignored: list[str] = field(default_factory=list)


def ignored_ids(path: Path = IGNORE_FILE) -> list[str]:
    """Vulnerability ids to ignore: one a line, ``ID  # why`` (a reason is required)."""
    if not path.exists():
        return []
    ids = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        entry, _, reason = line.partition("#")
        if not entry.strip():
            continue
        if not reason.strip():
            raise AuditUnavailable(f"{path}:{number}: {entry.strip()} is ignored without a reason ('ID  # why')")
        ids.append(entry.strip())
    return ids


def probe(service: str, timeout_s: float = 15.0) -> None:
    method, url, body = PROBES[service]
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            json.load(response)
    except urllib.error.HTTPError as exc:
        raise AuditUnavailable(f"{service}: {url} answered HTTP {exc.code}: the advisories are not served here") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise AuditUnavailable(f"{service}: {url} did not answer: {exc}") from exc


def choose_service(wanted: str) -> str:
    if wanted != "auto":
        probe(wanted)
        return wanted
    problems = []
    for service in PROBES:
        try:
            probe(service)
        except AuditUnavailable as exc:
            problems.append(str(exc))
        else:
            return service
    raise AuditUnavailable("no vulnerability service answered:\n  " + "\n  ".join(problems))


def locked_requirements() -> str:
    """Every locked package (all extras, all groups) pinned, as requirements text."""
    command = ["uv", "export", "--frozen", "--all-extras", "--all-groups", "--no-hashes", "--no-emit-project", "--quiet"]
    return subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout


def run_pip_audit(requirements: str, service: str, ignore: list[str]) -> AuditReport:
    with tempfile.TemporaryDirectory() as tmp:
        req = Path(tmp) / "requirements.txt"
        req.write_text(requirements)
        out = Path(tmp) / "audit.json"
        command = [
            sys.executable, "-m", "pip_audit", "-r", str(req), "--disable-pip", "--no-deps",
            "-s", service, "-f", "json", "-o", str(out), "--progress-spinner", "off",
        ]  # fmt: skip
        for vuln in ignore:
            command += ["--ignore-vuln", vuln]
        done = subprocess.run(command, capture_output=True, text=True)
        if not out.exists():
            raise AuditUnavailable(f"pip-audit failed (exit {done.returncode}): {(done.stderr or done.stdout).strip()[-2000:]}")
        return parse_report(json.loads(out.read_text()), service, ignore)


def parse_report(data: dict, service: str, ignore: list[str]) -> AuditReport:
    report = AuditReport(service, ignored=list(ignore))
    for dep in data.get("dependencies", []):
        if "skip_reason" in dep:
            report.skipped.append((dep["name"], dep["skip_reason"]))
            continue
        report.audited += 1
        for vuln in dep.get("vulns", []):
            report.vulnerable.append((dep["name"], dep.get("version", "?"), vuln["id"], vuln.get("fix_versions", [])))
    return report


def verdict(report: AuditReport) -> tuple[int, str]:
    lines = [f"dependency audit ({report.service}): {report.audited} packages checked"]
    if report.ignored:
        lines.append(f"ignored by .pip-audit-ignore: {', '.join(report.ignored)}")
    if report.vulnerable:
        lines.append(f"KNOWN VULNERABILITIES in {len({v[0] for v in report.vulnerable})} package(s):")
        lines += [f"  {name} {version}: {vid} (fixed in {', '.join(fixes) or 'no release yet'})" for name, version, vid, fixes in report.vulnerable]
        lines.append("bump the pins (pyproject.toml, then `uv lock`), or list unfixable ids with a reason in .pip-audit-ignore")
        return EXIT_VULNERABLE, "\n".join(lines)
    if report.skipped:
        lines.append(f"DEPENDENCY AUDIT INCOMPLETE: {len(report.skipped)} package(s) could not be checked, e.g.:")
        lines += [f"  {name}: {why}" for name, why in report.skipped[:5]]
        return EXIT_INCOMPLETE, "\n".join(lines)
    lines.append("no known vulnerabilities")
    return EXIT_CLEAN, "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/audit", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--service", choices=["auto", *PROBES], default="auto")
    args = parser.parse_args(argv)
    try:
        ignore = ignored_ids()
        service = choose_service(args.service)
        code, text = verdict(run_pip_audit(locked_requirements(), service, ignore))
    except AuditUnavailable as exc:
        print(f"DEPENDENCY AUDIT NOT DONE: {exc}", file=sys.stderr)
        return EXIT_NOT_AUDITED
    print(text, file=sys.stderr if code else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main())
