"""Dev tooling (revalign_dev/: the local Slack, the runner, the playground) stays off the request path."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The CLI commands `ask`, `demo`, `shell` and `playground` import it, inside the functions that need it.
LAZY_IMPORTERS = {"bot/cli.py", "bot/demo.py"}


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, at module level?) for every import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, id(node) in top))
    return found


def test_bot_and_handlers_never_import_dev_tooling_at_module_level():
    offenders = []
    for path in sorted([*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/**/*.py"), *ROOT.glob("content_index/**/*.py")]):
        relative = path.relative_to(ROOT).as_posix()
        for module, top_level in _imports(path):
            if module.split(".")[0] == "revalign_dev" and (top_level or relative not in LAZY_IMPORTERS):
                offenders.append(f"{relative}: {module}")
    assert offenders == []


def test_building_and_serving_the_app_loads_no_dev_tooling(tmp_path):
    code = (
        "import sys\n"
        "from bot.settings import load_settings\n"
        "from bot.services import Services\n"
        "from bot.app import create_app\n"
        "from bot.server import create_http_app\n"
        f"services = Services(load_settings(_env_file=None, SLACK_BOT_TOKEN='xoxb-layering', DATABASE_URL='sqlite:///{tmp_path / 'x.db'}'))\n"
        "app, _ = create_app(services, verify_token=False)\n"
        "create_http_app(services, app)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'revalign_dev'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
