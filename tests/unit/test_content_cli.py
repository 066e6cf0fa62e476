"""`revalign content import/export/remove` and `revalign eval` as a user runs them (SQLite file)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEADER = "title,url,type,stage,persona,summary,objections\n"
ROWS = ('Pricing FAQ,https://content.lumen.example/faq,pricing_faq,decision,cfo,Tiers and seats.,too expensive\n'
        'Battlecard,https://content.lumen.example/bc,battlecard,decision,sales_leader,Talk track.,\n')
BAD = ',https://content.lumen.example/x,one_pager,decision,cfo,,\nPodcast,https://content.lumen.example/p,podcast,decision,cfo,,\n'


def run(tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REVALIGN_", "DATABASE_URL"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}", HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300)


def test_import_refuses_invalid_rows_then_imports_with_skip_invalid_exports_and_removes(tmp_path):
    source = tmp_path / "library.csv"
    source.write_text(HEADER + ROWS + BAD)
    refused = run(tmp_path, "content", "import", str(source))
    assert refused.returncode == 1
    assert "line 4: missing title" in refused.stdout and "line 5: unknown type 'podcast'" in refused.stdout
    assert "Nothing was imported" in refused.stdout
    empty = run(tmp_path, "content", "export", "--format", "jsonl")
    assert empty.returncode == 0 and empty.stdout == ""

    imported = run(tmp_path, "content", "import", str(source), "--skip-invalid")
    assert imported.returncode == 0, imported.stderr
    assert "added 2 · updated 0 · unchanged 0 · rejected 2" in imported.stdout
    assert "line 4: missing title" in imported.stdout
    assert "Embedded " in imported.stdout and "the library has 2 items" in imported.stdout

    out = tmp_path / "export.jsonl"
    assert run(tmp_path, "content", "export", str(out)).returncode == 0
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert exported[0] == {"title": "Pricing FAQ", "url": "https://content.lumen.example/faq", "type": "pricing_faq",
                           "stage": "decision", "persona": "cfo", "summary": "Tiers and seats.",
                           "objections": ["too expensive"]}
    removed = run(tmp_path, "content", "remove", "https://content.lumen.example/bc")
    assert removed.returncode == 0 and "Removed Battlecard" in removed.stdout
    csv_out = run(tmp_path, "content", "export")
    assert csv_out.stdout.splitlines() == [HEADER.strip(), ROWS.splitlines()[0]]


def test_bad_files_fail_with_one_line(tmp_path):
    missing = run(tmp_path, "content", "import", str(tmp_path / "nope.csv"))
    assert missing.returncode == 1 and "no such file" in missing.stderr and "Traceback" not in missing.stderr
    odd = tmp_path / "library.xlsx"
    odd.write_text("x")
    wrong = run(tmp_path, "content", "import", str(odd))
    assert wrong.returncode == 1 and "csv or .jsonl" in wrong.stderr
    no_eval_file = run(tmp_path, "eval", "--library", str(tmp_path / "none.jsonl"), "--queries", str(odd))
    assert no_eval_file.returncode == 1 and "no such file" in no_eval_file.stderr
