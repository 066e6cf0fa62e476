"""Governance over signed HTTP, on SQLite and PostgreSQL: a file import becomes proposals the two
heads approve (no back door), the admin override is recorded and announced, reviews without
changes, the role-switch double approval refused in code and by the database, and stored Slack
markup never going live when a card is shared."""

from __future__ import annotations

import json

import pytest
import yaml
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot.lead_defs import service as ld
from bot.lead_defs.queries import open_proposals, stale_definitions
from bot.models.lead_defs import LeadDefinition, LeadDefinitionProposal, LeadDefinitionVersion
from tests.conftest import ALIGNMENT_CHANNEL, text_of
from tests.e2e.test_lead_def import _propose
from tests.helpers import ADMIN, GOVERNANCE_ROLES, MARKETER, MKT_HEAD, REP, SALES_HEAD, with_roles
from tests.unit.test_lead_defs_cli import run_cli


@pytest.fixture
def app(slack_app):
    return with_roles(slack_app, GOVERNANCE_ROLES)


def _cli_env(app) -> dict:
    return {"DATABASE_URL": app.services.settings.database_url, "SLACK_BOT_TOKEN": "xoxb-test-0000-token",
            "SLACK_API_URL": app.slack.api_url, "REVALIGN_ALIGNMENT_CHANNEL": ALIGNMENT_CHANNEL}


def _edited_export(app, tmp_path) -> str:
    exported = run_cli("lead-def", "export", env=_cli_env(app)).stdout
    edited = exported.replace("An SDR contacts it within 1 business day", "An SDR contacts it within 4 hours")
    edited += ("- key: NRR\n  full_name: Net revenue retention\n  kind: term\n  definition: Revenue kept and grown.\n"
               "  owner: shared\n")
    path = tmp_path / "defs.yaml"
    path.write_text(edited)
    return str(path)


def _blocks(call) -> list[dict]:
    blocks = call.args.get("blocks")
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def _version(app, key: str) -> int:
    with app.services.db.session() as session:
        return ld.get(session, key).version


def test_import_of_changes_creates_proposals_the_two_heads_approve(app, tmp_path):
    path = _edited_export(app, tmp_path)
    posts = len(app.slack.posted_messages())
    result = run_cli("lead-def", "import", path, env=_cli_env(app))
    assert result.returncode == 0, result.stderr
    assert "2 change(s) proposed in the alignment channel" in result.stdout, result.stdout
    # Nothing changed yet: MQL is still v1 and NRR does not exist.
    assert _version(app, "MQL") == 1
    assert "No term 'NRR'" in text_of(app.command("/lead-def", "NRR"))
    proposals = [c for c in app.slack.calls_to("chat.postMessage")[posts:] if c.args["channel"] == ALIGNMENT_CHANNEL]
    assert len(proposals) == 2
    shown = [text_of({"blocks": _blocks(c)}) for c in proposals]
    assert any("PROPOSED CHANGE TO MQL (V1 → V2)" in s and "[Approve] [Reject]" in s for s in shown)
    assert any("PROPOSED CHANGE TO NRR (NEW TERM)" in s for s in shown)
    # The same import again proposes nothing new.
    again = run_cli("lead-def", "import", path, env=_cli_env(app))
    assert "2 already waiting" in again.stdout, again.stdout
    with app.services.db.session() as session:
        waiting = {p.key: p for p in open_proposals(session)}
    assert set(waiting) == {"MQL", "NRR"}
    for key in ("MQL", "NRR"):
        app.action("lead_def_approve", str(waiting[key].id), user_id=MKT_HEAD)
        done = text_of(app.action("lead_def_approve", str(waiting[key].id), user_id=SALES_HEAD))
        assert "is now the shared definition" in done
    assert _version(app, "MQL") == 2 and _version(app, "NRR") == 1
    assert "An SDR contacts it within 4 hours" in text_of(app.command("/lead-def", "MQL"))
    history = text_of(app.command("/lead-def", "history MQL"))
    assert f"by cli import · approved by @{MKT_HEAD} and @{SALES_HEAD}" in history


def test_import_into_an_empty_workspace_seeds_it(app, tmp_path):
    exported = run_cli("lead-def", "export", env=_cli_env(app)).stdout
    with app.services.db.session() as session:
        session.execute(LeadDefinitionVersion.__table__.delete())
        session.execute(LeadDefinition.__table__.delete())
    path = tmp_path / "defs.yaml"
    path.write_text(exported)
    result = run_cli("lead-def", "import", str(path), env=_cli_env(app))
    assert result.returncode == 0 and "19 created" in result.stdout, result.stdout + result.stderr
    with app.services.db.session() as session:
        assert open_proposals(session) == []


def test_admin_override_is_explicit_recorded_and_announced(app, tmp_path):
    path = _edited_export(app, tmp_path)
    half = run_cli("lead-def", "import", path, "--apply-without-approval", env=_cli_env(app))
    assert half.returncode == 1 and "--admin" in half.stderr
    not_admin = run_cli("lead-def", "import", path, "--apply-without-approval", "--admin", MKT_HEAD,
                        env=_cli_env(app))
    assert not_admin.returncode == 1 and "only admins" in not_admin.stderr
    assert _version(app, "MQL") == 1
    posts = len(app.slack.posted_messages())
    result = run_cli("lead-def", "import", path, "--apply-without-approval", "--admin", ADMIN, env=_cli_env(app))
    assert result.returncode == 0, result.stderr
    assert f"without approval (admin override by {ADMIN})" in result.stdout
    assert _version(app, "MQL") == 2 and _version(app, "NRR") == 1
    [announcement] = app.slack.calls_to("chat.postMessage")[posts:]
    assert announcement.args["channel"] == ALIGNMENT_CHANNEL
    said = text_of({"blocks": _blocks(announcement)})
    assert f"@{ADMIN} applied a definitions file *without the two heads' approval*" in said
    assert "*MQL* is now v2" in said and "*NRR* is now v1" in said
    history = text_of(app.command("/lead-def", "history MQL"))
    assert f"by @{ADMIN} · ⚠️ applied by @{ADMIN} without approval" in history
    assert f"Applied by {ADMIN} without approval (file import)" in history
    with app.services.db.session() as session:
        assert open_proposals(session) == []


def test_mark_reviewed_needs_both_heads_or_one_with_a_note(app):
    app.clock.advance(days=100)
    stale = app.command("/lead-def", "stale")
    buttons = [b["accessory"] for b in stale["blocks"] if b.get("accessory")]
    assert buttons and all(b["action_id"] == "lead_def_review" for b in buttons)
    assert "Sorry, only" in text_of(app.command("/lead-def", "reviewed MQL", user_id=REP))
    first = text_of(app.command("/lead-def", "reviewed MQL", user_id=MKT_HEAD))
    assert "recorded for marketing" in first and "a sales head" in first
    again = text_of(app.command("/lead-def", "reviewed MQL", user_id=MKT_HEAD))
    assert "You already confirmed MQL" in again
    # A role switch does not let the same person confirm for the other side.
    app.set_role(MKT_HEAD, "sales_head")
    assert "You already confirmed MQL" in text_of(app.command("/lead-def", "reviewed MQL", user_id=MKT_HEAD))
    app.set_role(MKT_HEAD, "marketing_head")
    with app.services.db.session() as session:
        assert "MQL" in {s.key for s in stale_definitions(session, app.clock(), 90)}
    done = text_of(app.command("/lead-def", "reviewed MQL", user_id=SALES_HEAD))
    assert "MQL is marked reviewed" in done and "still v1" in done
    # One head with a note; a multi-word term and a note with Slack's encoding.
    noted = text_of(app.command("/lead-def", "reviewed Win rate still matches the CRM &amp; BI report",
                                user_id=SALES_HEAD))
    assert "Win rate is marked reviewed" in noted
    # The button opens a modal; submitting it with a note marks the term reviewed.
    app.send.block_action("lead_def_review", "SQL", user_id=MKT_HEAD)
    modal = app.slack.wait_for("views.open", 1)[0].args["view"]
    modal = json.loads(modal) if isinstance(modal, str) else modal
    assert modal["callback_id"] == "lead_def_review" and modal["private_metadata"] == "SQL"
    posted = app.send.view_submission("lead_def_review", {"note": {"value": {"type": "plain_text_input",
                                                                            "value": "Checked with the AEs"}}},
                                      user_id=MKT_HEAD, private_metadata="SQL")
    assert posted.status == 200 and not posted.body
    with app.services.db.session() as session:
        still_stale = {s.key for s in stale_definitions(session, app.clock(), 90)}
        versions = {d.key: d.version for d in ld.all_definitions(session)}
    assert not {"MQL", "Win rate", "SQL"} & still_stale and "SAL" in still_stale
    assert versions["MQL"] == versions["SQL"] == 1, "a review changes nothing"


def test_role_switch_cannot_give_both_approvals(app):
    proposal_id, _ = _propose(app, MARKETER, "SQL", sla="Within 3 business days", summary="Faster AE meetings")
    assert "recorded" in text_of(app.action("lead_def_approve", proposal_id, user_id=MKT_HEAD))
    app.set_role(MKT_HEAD, "sales_head")      # an admin changes her role
    refused = text_of(app.action("lead_def_approve", proposal_id, user_id=MKT_HEAD))
    assert "One person can't give both approvals" in refused
    assert _version(app, "SQL") == 1
    # The database refuses it too, whatever writes the row.
    with pytest.raises(IntegrityError):
        with app.services.db.session() as session:
            session.execute(update(LeadDefinitionProposal).where(LeadDefinitionProposal.id == int(proposal_id))
                            .values(sales_approver=MKT_HEAD))
    with pytest.raises(IntegrityError):
        with app.services.db.session() as session:
            session.execute(update(LeadDefinitionProposal).where(LeadDefinitionProposal.id == int(proposal_id))
                            .values(sales_approver=MARKETER))
    with app.services.db.session() as session:
        row = session.scalar(select(LeadDefinitionProposal).where(LeadDefinitionProposal.id == int(proposal_id)))
        assert (row.status, row.sales_approver) == ("open", None)
    assert "is now the shared definition" in text_of(app.action("lead_def_approve", proposal_id, user_id=SALES_HEAD))


def test_here_in_an_approved_full_name_never_goes_live_when_shared(app):
    proposal_id, _ = _propose(app, MARKETER, "Persona", full_name="<!here> Buyer persona & co", summary="Rename")
    app.action("lead_def_approve", proposal_id, user_id=MKT_HEAD)
    app.action("lead_def_approve", proposal_id, user_id=SALES_HEAD)
    for _ in range(2):
        shared = app.action("lead_def_share", "Persona", user_id=REP)
        assert shared["response_type"] == "in_channel"
        assert not any("<!here>" in text for text in _mrkdwn_texts(shared)), "plain_text never pings; mrkdwn would"
        assert "&lt;!here&gt; Buyer persona &amp; co" in shared["text"]
        assert text_of(shared).startswith("PERSONA — <!HERE> BUYER PERSONA & CO")
    for message in app.slack.posted_messages():
        assert not any("<!here>" in text for text in _mrkdwn_texts(message))


def _mrkdwn_texts(payload: dict) -> list[str]:
    """The notification text and every mrkdwn text object: what Slack parses for mentions."""
    found = [payload.get("text") or ""]

    def walk(node) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node.get("text", ""))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    blocks = payload.get("blocks")
    walk(json.loads(blocks) if isinstance(blocks, str) else blocks)
    return found


def test_import_file_unchanged_in_yaml_round_trip(app):
    exported = run_cli("lead-def", "export", env=_cli_env(app)).stdout
    assert yaml.safe_load(exported)["terms"][1]["key"] == "MQL"
