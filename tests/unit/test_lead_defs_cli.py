"""`revalign lead-def export|import` as a user runs them: exact round trip, all-or-nothing import."""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from typer.testing import CliRunner

from bot.errors import RevalignError


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args, env=None, cwd=None):
    """The real Typer app in-process (a subprocess per call costs ~1 s of imports)."""
    from bot.cli import cli

    runner = CliRunner()
    result = runner.invoke(cli, list(args), env=env)
    stderr = result.stderr
    code = result.exit_code
    if isinstance(result.exception, RevalignError):
        stderr += f"revalign: {result.exception}\n"
        code = result.exception.exit_code
    elif result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(code, result.stdout, stderr)


def test_export_import_round_trip_and_invalid_file_writes_nothing(database_url, tmp_path):
    env = {"DATABASE_URL": database_url}
    exported = run_cli("lead-def", "export", env=env, cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    first = exported.stdout
    data = yaml.safe_load(first)
    assert [t["key"] for t in data["terms"][:6]] == ["IQL", "MQL", "SAL", "SQL", "Opportunity", "Customer"]
    assert data["terms"][1]["version"] == 1 and data["terms"][1]["updated_by"] == "revalign"

    # Importing the export changes nothing, and exporting again gives the same bytes.
    path = tmp_path / "defs.yaml"
    path.write_text(first)
    same = run_cli("lead-def", "import", str(path), env=env, cwd=tmp_path)
    assert same.returncode == 0 and "0 created, 19 unchanged" in same.stdout, same.stdout + same.stderr
    assert run_cli("lead-def", "export", env=env, cwd=tmp_path).stdout == first

    # No back door: an edit would become a proposal, and proposals need the alignment channel
    # (tests/e2e/test_governance.py follows them through Slack); without one nothing changes.
    edited = first.replace("An SDR contacts it within 1 business day", "An SDR contacts it within 4 hours")
    path.write_text(edited)
    result = run_cli("lead-def", "import", str(path), env=env, cwd=tmp_path)
    assert result.returncode == 1 and "REVALIGN_ALIGNMENT_CHANNEL" in result.stderr, result.stdout + result.stderr
    assert run_cli("lead-def", "export", env=env, cwd=tmp_path).stdout == first

    # A file with several bad entries: every problem with its line, exit 1, nothing written.
    before = run_cli("lead-def", "export", env=env, cwd=tmp_path).stdout
    broken = before.replace("owner: marketing", "owner: everyone", 1).replace("kind: term", "kind: glossary", 1)
    broken = broken.replace("An SDR contacts it within 1 business day", "An SDR contacts it within 2 hours")
    path.write_text(broken)
    refused = run_cli("lead-def", "import", str(path), env=env, cwd=tmp_path)
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert any(":line " in line and "owner must be marketing, sales or shared" in line for line in lines)
    assert any(":line " in line and "kind must be 'stage' or 'term'" in line for line in lines)
    assert lines[-1].startswith("revalign: 2 problem(s)") and "nothing was imported" in lines[-1]
    assert "Traceback" not in refused.stderr
    assert run_cli("lead-def", "export", env=env, cwd=tmp_path).stdout == before
    missing = run_cli("lead-def", "import", str(tmp_path / "nope.yaml"), env=env, cwd=tmp_path)
    assert missing.returncode == 1 and "cannot read" in missing.stderr
