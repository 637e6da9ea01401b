"""scripts/audit's verdicts: vulnerabilities fail, unchecked packages fail, an unreachable service
fails, and only a complete clean audit passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from media_stream.dev import dependency_audit as audit


def report(*deps: dict) -> audit.AuditReport:
    return audit.parse_report({"dependencies": list(deps)}, "pypi", [])


def test_a_clean_complete_audit_passes() -> None:
    code, text = audit.verdict(report({"name": "requests", "version": "2.34.2", "vulns": []}))
    assert code == audit.EXIT_CLEAN and "1 packages checked" in text


def test_a_known_vulnerability_fails_naming_the_fix() -> None:
    vuln = {"id": "GHSA-aaaa-bbbb-cccc", "fix_versions": ["2.32.4"], "aliases": ["CVE-2024-1"]}
    code, text = audit.verdict(report({"name": "requests", "version": "2.31.0", "vulns": [vuln]}, {"name": "idna", "version": "3.10", "vulns": []}))
    assert code == audit.EXIT_VULNERABLE
    assert "requests 2.31.0: GHSA-aaaa-bbbb-cccc (fixed in 2.32.4)" in text


def test_packages_the_service_could_not_look_up_are_not_a_pass() -> None:
    # what pip-audit prints, exiting 0, when the service answers 404 for every release
    skipped = {"name": "absl-py", "skip_reason": "Dependency not found on PyPI and could not be audited: absl-py (2.5.1)"}
    code, text = audit.verdict(report(skipped, {"name": "requests", "version": "2.34.2", "vulns": []}))
    assert code == audit.EXIT_INCOMPLETE and "INCOMPLETE: 1 package(s)" in text and "absl-py" in text


def test_no_answering_service_is_not_a_pass(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(audit, "PROBES", {"pypi": ("GET", "http://127.0.0.1:9/none", None)})
    assert audit.main(["--service", "auto"]) == audit.EXIT_NOT_AUDITED
    assert "DEPENDENCY AUDIT NOT DONE" in capsys.readouterr().err


def test_an_ignored_id_needs_a_reason(tmp_path: Path) -> None:
    ignore = tmp_path / "ignore"
    ignore.write_text("# header\nGHSA-1111-2222-3333  # no fix released; we do not call the affected API\n")
    assert audit.ignored_ids(ignore) == ["GHSA-1111-2222-3333"]
    ignore.write_text("GHSA-1111-2222-3333\n")
    with pytest.raises(audit.AuditUnavailable, match="without a reason"):
        audit.ignored_ids(ignore)


def test_the_repository_ignore_file_is_valid() -> None:
    audit.ignored_ids()  # raises on an entry without a reason
