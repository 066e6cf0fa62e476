"""/lead-def over signed HTTP: lookup, list, share, history, propose → two approvals → announce,
refusals, concurrency and bad input — on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from bot.lead_defs import service as ld
from bot.lead_defs.queries import changed_since, open_proposals, stale_definitions
from bot.models.lead_defs import LeadDefinition, LeadDefinitionProposal, LeadDefinitionVersion
from tests.conftest import ALIGNMENT_CHANNEL, START, text_of
from tests.helpers import ADMIN, GOVERNANCE_ROLES, MARKETER, MKT_HEAD, REP, SALES_HEAD, with_roles
from tests.slack_requests import plain_value


@pytest.fixture
def app(slack_app):
    return with_roles(slack_app, GOVERNANCE_ROLES)


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def _raw(payload) -> str:
    """The mrkdwn Slack would render, to check escaping."""
    return json.dumps(_json(payload.get("blocks")) or payload.get("text"))


def _db_state(app):
    with app.services.db.session() as session:
        return (
            [(r.key, r.version, r.definition, list(r.criteria)) for r in
             session.scalars(select(LeadDefinition).order_by(LeadDefinition.key))],
            session.scalar(select(func.count()).select_from(LeadDefinitionVersion)),
            session.scalar(select(func.count()).select_from(LeadDefinitionProposal)),
        )


def _open_modal(app, text, user_id):
    before = len(app.slack.calls_to("views.open"))
    result = app.send.command("/lead-def", text, user_id=user_id)
    assert result.status == 200
    call = app.slack.wait_for("views.open", before + 1)[before]
    return _json(call.args["view"])


def _form_values(view, **changes):
    """The modal's state as Slack would submit it: initial values, with some fields changed."""
    values = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        value = changes.get(block["block_id"], block["element"].get("initial_value"))
        values[block["block_id"]] = {"value": plain_value(value) if value is not None else
                                     {"type": "plain_text_input", "value": None}}
    return values


def _submit(app, view, user_id, **changes):
    before = len(app.slack.calls_to("chat.postMessage"))
    result = app.send.view_submission("lead_def_propose", _form_values(view, **changes), user_id=user_id,
                                      private_metadata=view["private_metadata"])
    assert result.status == 200, result.body
    return result, before


def _wait_posted(app, before_notes):
    """The proposer's note comes after the proposal's message ts is stored."""
    app.slack.wait_for("chat.postEphemeral", before_notes + 1)


def _propose(app, user_id, term="MQL", **changes):
    view = _open_modal(app, f"propose {term}", user_id)
    notes = len(app.slack.calls_to("chat.postEphemeral"))
    result, before = _submit(app, view, user_id, **changes)
    assert not result.body or b"errors" not in result.body, result.body
    post = app.slack.wait_for("chat.postMessage", before + 1)[before].args
    _wait_posted(app, notes)
    assert post["channel"] == ALIGNMENT_CHANNEL
    blocks = _json(post["blocks"])
    approve = next(e for b in blocks if b["type"] == "actions" for e in b["elements"]
                   if e["action_id"] == "lead_def_approve")
    return approve["value"], post


# --- lookup ---------------------------------------------------------------------------
def test_lookup_by_key_alias_plural_question_case_and_typo(app):
    for text in ("MQL", "mql", "MQLs", "marketing qualified lead", "Marketing-Qualified leads",
                 "what is an mql?", "What's an MQL", "define MQL please"):
        reply = app.command("/lead-def", text)
        body = text_of(reply)
        assert reply["response_type"] == "ephemeral", text
        assert body.startswith("MQL — MARKETING QUALIFIED LEAD"), (text, body[:80])
        assert "An SDR contacts it within 1 business day" in body
        assert "Qualifying criteria" in body and "Disqualifiers" in body and "v1 · last changed by revalign" in body
        assert "[Share in channel]" in body
    sql = text_of(app.command("/lead-def", "what is an sql?"))
    assert sql.startswith("SQL — SALES QUALIFIED LEAD")
    assert text_of(app.command("/lead-def", "opportunities")).startswith("OPPORTUNITY")
    glossary = text_of(app.command("/lead-def", "win rate"))
    assert glossary.startswith("WIN RATE") and "Glossary term" in glossary
    # Typos get suggestions with buttons, never an error.
    reply = app.command("/lead-def", "MQK")
    assert text_of(reply).startswith("No term 'MQK'. Did you mean MQL?")
    buttons = [e for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons[0]["action_id"] == "lead_def_show" and buttons[0]["value"] == "MQL"
    card = app.action("lead_def_show", "MQL", user_id=REP)
    assert text_of(card).startswith("MQL — MARKETING QUALIFIED LEAD")
    assert "Did you mean" in text_of(app.command("/lead-def", "oportunity"))


def test_list_and_share(app):
    reply = app.command("/lead-def", "")
    body = text_of(reply)
    assert reply["response_type"] == "ephemeral"
    positions = [body.index(f"{n}. {k}") for n, k in enumerate(["IQL", "MQL", "SAL", "SQL", "Opportunity",
                                                                   "Customer"], start=1)]
    assert positions == sorted(positions)
    assert "Owner: Marketing · SLA: An SDR contacts it within 1 business day" in body
    glossary = body[body.index("Glossary"):]
    for term in ("Lead", "Conversion", "Pipeline", "Win rate", "CPA", "LTV", "UVP", "SLA", "Persona", "TOFU",
                 "MOFU", "BOFU"):
        assert term in glossary
    # "Share in channel" posts the card in the channel, attributed to who shared it.
    shared = app.action("lead_def_share", "SQL", user_id=MARKETER)
    assert shared["response_type"] == "in_channel"
    body = text_of(shared)
    assert body.startswith("SQL — SALES QUALIFIED LEAD")
    assert f"Shared by @{MARKETER}" in body
    assert "[Share in channel]" not in body


# --- proposals --------------------------------------------------------------------------
def test_propose_two_approvals_announce_and_history(app):
    view = _open_modal(app, "propose mql", MARKETER)
    assert view["callback_id"] == "lead_def_propose"
    initial = {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"] if b["type"] == "input"}
    assert initial["sla"] == "An SDR contacts it within 1 business day"
    assert "Lead score of 60 or more (fit plus engagement)" in initial["criteria"].splitlines()
    criteria = initial["criteria"].replace("Lead score of 60", "Lead score of 70") + "\nBudget holder identified"
    notes = len(app.slack.calls_to("chat.postEphemeral"))
    result, before = _submit(app, view, MARKETER, criteria=criteria,
                             sla="An SDR contacts it within 4 business hours",
                             summary="Tighter <!channel> SLA *now*")
    post = app.slack.wait_for("chat.postMessage", before + 1)[before].args
    _wait_posted(app, notes)
    assert post["channel"] == ALIGNMENT_CHANNEL
    posted = text_of({"blocks": _json(post["blocks"])})
    assert "PROPOSED CHANGE TO MQL (V1 → V2)" in posted
    assert "➕ Lead score of 70 or more" in posted, posted
    assert "➖ ~Lead score of 60 or more" in posted
    assert "➕ Budget holder identified" in posted
    assert "*SLA*: An SDR contacts it within ~1~ *4* business ~day~ *hours*" in posted
    assert "<!channel>" not in _raw(post) and "&lt;!channel&gt;" in _raw(post)
    assert "[Approve] [Reject]" in posted
    proposal_id = next(e["value"] for b in _json(post["blocks"]) if b["type"] == "actions" for e in b["elements"]
                       if e["action_id"] == "lead_def_approve")
    with app.services.db.session() as session:
        [waiting] = open_proposals(session)
        assert waiting.key == "MQL" and waiting.waiting_for == ["marketing head", "sales head"]
        assert waiting.channel == ALIGNMENT_CHANNEL and waiting.message_ts, "the message is recorded"

    first = text_of(app.action("lead_def_approve", proposal_id, user_id=MKT_HEAD, channel_id=ALIGNMENT_CHANNEL))
    assert "recorded" in first and "sales head" in first
    update = app.slack.wait_for("chat.update", 1)[0].args
    assert f"✅ marketing head @{MKT_HEAD}" in text_of({"blocks": _json(update["blocks"])})
    assert "SDR contacts it within 1 business day" in text_of(app.command("/lead-def", "MQL")), "not yet applied"

    posts_before = len(app.slack.calls_to("chat.postMessage"))
    second = text_of(app.action("lead_def_approve", proposal_id, user_id=SALES_HEAD, channel_id=ALIGNMENT_CHANNEL))
    assert "MQL v2 is now the shared definition" in second
    announcement = app.slack.wait_for("chat.postMessage", posts_before + 1)[posts_before].args
    assert announcement["channel"] == ALIGNMENT_CHANNEL
    announced = text_of({"blocks": _json(announcement["blocks"])})
    assert "*MQL* is now v2" in announced and f"approved by @{MKT_HEAD} (marketing) and @{SALES_HEAD} (sales)" in announced
    final_update = app.slack.wait_for("chat.update", 2)[1].args
    assert "now MQL v2" in text_of({"blocks": _json(final_update["blocks"])})

    card = text_of(app.command("/lead-def", "MQL"))
    assert "An SDR contacts it within 4 business hours" in card and "Budget holder identified" in card
    assert f"v2 · last changed by @{MARKETER} on 2026-11-24" in card

    history = text_of(app.command("/lead-def", "history mqls"))
    assert history.startswith("HISTORY OF MQL")
    assert history.index("*v2* ·") < history.index("*v1* ·")
    assert f"by @{MARKETER} · approved by @{MKT_HEAD} and @{SALES_HEAD}" in history
    assert "Tighter <!channel> SLA *now*" in history and "&lt;!channel&gt;" in _raw(app.command("/lead-def", "history MQL"))
    assert "➕ Budget holder identified" in history and "First version" in history
    with app.services.db.session() as session:
        assert open_proposals(session) == []
        [change] = changed_since(session, START.replace(hour=0))
        assert (change.key, change.version, change.author) == ("MQL", 2, MARKETER)
        assert "qualifying criteria" in change.changed_fields and "sla" in change.changed_fields


def test_wrong_roles_and_self_approval_are_refused_and_change_nothing(app):
    refused = text_of(app.command("/lead-def", "propose MQL", user_id=REP))
    assert refused.startswith("Sorry, only") and "propose a change" in refused
    assert app.slack.calls_to("views.open") == []
    proposal_id, _ = _propose(app, MKT_HEAD, "SQL", sla="Within 3 business days", summary="Faster AE meetings")
    state = _db_state(app)
    for user in (REP, MARKETER, ADMIN):
        reply = text_of(app.action("lead_def_approve", proposal_id, user_id=user))
        assert reply.startswith("Sorry, only marketing heads or sales heads can approve"), (user, reply)
    own = text_of(app.action("lead_def_approve", proposal_id, user_id=MKT_HEAD))
    assert "You proposed this change" in own
    assert _db_state(app) == state
    with app.services.db.session() as session:
        [proposal] = open_proposals(session)
        assert proposal.marketing_approver is None and proposal.sales_approver is None
    # A second marketing head cannot stand in for sales.
    app.set_role("U0MKTH0002", "marketing_head")
    assert "recorded" in text_of(app.action("lead_def_approve", proposal_id, user_id=SALES_HEAD))
    again = text_of(app.action("lead_def_approve", proposal_id, user_id=SALES_HEAD))
    assert "already approved this for sales" in again
    done = text_of(app.action("lead_def_approve", proposal_id, user_id="U0MKTH0002"))
    assert "SQL v2 is now the shared definition" in done
    late = text_of(app.action("lead_def_approve", proposal_id, user_id="U0MKTH0002"))
    assert "already approved" in late


def test_rejection_needs_a_reason(app):
    proposal_id, _ = _propose(app, MARKETER, "IQL", sla="Nurture within 2 hours", summary="Speed")
    refused = text_of(app.action("lead_def_reject", proposal_id, user_id=MARKETER))
    assert refused.startswith("Sorry, only marketing heads or sales heads can reject")
    app.send.block_action("lead_def_reject", proposal_id, user_id=SALES_HEAD)
    modal = _json(app.slack.wait_for("views.open", 2)[1].args["view"])
    assert modal["callback_id"] == "lead_def_reject"
    blank = app.send.view_submission("lead_def_reject", {"reason": {"value": plain_value("   ")}},
                                     user_id=SALES_HEAD, private_metadata=modal["private_metadata"])
    assert blank.json()["response_action"] == "errors" and "reason" in blank.json()["errors"]
    with app.services.db.session() as session:
        assert len(open_proposals(session)) == 1
    posts = len(app.slack.calls_to("chat.postMessage"))
    ok = app.send.view_submission("lead_def_reject", {"reason": {"value": plain_value("Ops can't staff <@U0REP0001>")}},
                                  user_id=SALES_HEAD, private_metadata=modal["private_metadata"])
    assert ok.status == 200 and not ok.body
    thread = app.slack.wait_for("chat.postMessage", posts + 1)[posts].args
    assert thread["thread_ts"] and "rejected by" in text_of({"blocks": _json(thread["blocks"])})
    assert "<@U0REP0001>" not in _raw(thread)
    with app.services.db.session() as session:
        assert open_proposals(session) == []
        assert ld.get(session, "IQL").version == 1
    assert "already rejected" in text_of(app.action("lead_def_approve", proposal_id, user_id=MKT_HEAD))


def test_concurrent_proposals_outdated_one_is_refused(app):
    first, _ = _propose(app, MARKETER, "SAL", sla="Within 1 business day", summary="Faster")
    second, _ = _propose(app, SALES_HEAD, "SAL", example="A new example.", summary="Better example")
    stale_view = _open_modal(app, "propose SAL", MARKETER)
    app.action("lead_def_approve", first, user_id=MKT_HEAD)
    app.action("lead_def_approve", first, user_id=SALES_HEAD)
    refused = text_of(app.action("lead_def_approve", second, user_id=MKT_HEAD))
    assert "SAL changed to v2 since this proposal was made (against v1)" in refused
    # A form opened before the change is refused at submit time, with a clear message.
    result, _ = _submit(app, stale_view, MARKETER, summary="Late edit", sla="Within 3 days")
    errors = result.json()["errors"]
    assert "changed to v2" in errors["summary"]
    with app.services.db.session() as session:
        assert open_proposals(session) == []
        assert ld.get(session, "SAL").version == 2
        assert ld.get(session, "SAL").example != "A new example."


def test_invalid_proposal_form_gets_field_errors(app):
    view = _open_modal(app, "propose what is an MQL?", MARKETER)
    state = _db_state(app)
    result, _ = _submit(app, view, MARKETER, owner="everyone", definition="x" * 2500, summary="")
    errors = result.json()["errors"]
    assert set(errors) >= {"owner", "definition", "summary"}
    result, _ = _submit(app, view, MARKETER, summary="no real change")
    assert "Nothing is different" in result.json()["errors"]["summary"]
    result, _ = _submit(app, view, MARKETER, aliases="SQL, mqls", summary="steal an alias")
    assert "already used by 'SQL'" in result.json()["errors"]["aliases"]
    forged = app.send.view_submission("lead_def_propose", _form_values(view, summary="forged"), user_id=MARKETER,
                                      private_metadata="{not json")
    assert forged.json()["response_action"] == "errors"
    rep = app.send.view_submission("lead_def_propose", _form_values(view, summary="sneaky", sla="now"),
                                   user_id=REP, private_metadata=view["private_metadata"])
    assert "Sorry, only" in rep.json()["errors"]["summary"]
    assert _db_state(app) == state


def test_stale_definitions_are_listed(app):
    assert "reviewed in the last 90 days" in text_of(app.command("/lead-def", "stale"))
    app.clock.advance(days=91)
    body = text_of(app.command("/lead-def", "stale"))
    assert "MQL" in body and "91 days ago" in body
    with app.services.db.session() as session:
        stale = stale_definitions(session, app.clock(), 90)
        assert {s.key for s in stale} >= {"IQL", "MQL", "Customer", "BOFU"}
        assert stale_definitions(session, app.clock(), 120) == []
    _check_seeding_is_idempotent_and_race_safe(app)


BAD_INPUTS = ["x" * 4000, "🔥🔥🔥", ":fire: :rocket:", "<!channel>", "<!here|here> urgent", "<@U0REP0002>",
              "*bold*", "<script>alert(1)</script>", "Robert'); DROP TABLE students;--", "   ", "???",
              "history", "history <!channel>", "propose", "history 🔥", "<https://evil.example|click me>"]


def test_bad_input_is_answered_escaped_and_changes_nothing(app):
    state = _db_state(app)
    for text in BAD_INPUTS:
        reply = app.command("/lead-def", text, user_id=MARKETER)
        raw = _raw(reply)
        assert reply.get("response_type", "ephemeral") == "ephemeral", text
        assert "went wrong" not in text_of(reply), text
        for dangerous in ("<!channel>", "<!here", "<@U0REP0002>", "<script>", "<https://evil"):
            assert dangerous not in raw, (text, raw[:200])
        assert len(raw) < 6000
    assert "No term '&lt;!channel&gt;'" in _raw(app.command("/lead-def", "<!channel>"))
    assert text_of(app.command("/lead-def", "   ")).startswith("OUR FUNNEL")
    assert "Which term?" in text_of(app.command("/lead-def", "propose", user_id=MARKETER))
    assert app.slack.calls_to("views.open") == []
    assert _db_state(app) == state
    # Forged button values are refused politely.
    assert "No term" in text_of(app.action("lead_def_show", "<!channel>"))
    assert "no longer exists" in text_of(app.action("lead_def_approve", "'; DROP TABLE x", user_id=MKT_HEAD))
    assert _db_state(app) == state
    _check_proposal_withdrawn_when_slack_cannot_post_it(app)


def test_user_text_in_a_definition_is_escaped_everywhere(app):
    nasty = "<!channel> <@U0REP0002> <b>HTML</b> *bold* 🔥 '; DROP TABLE lead_definitions; --"
    proposal_id, post = _propose(app, MARKETER, "Lead", definition=nasty, example=nasty, summary=nasty)
    assert "<!channel>" not in _raw(post) and "<b>" not in _raw(post)
    app.action("lead_def_approve", proposal_id, user_id=MKT_HEAD)
    app.action("lead_def_approve", proposal_id, user_id=SALES_HEAD)
    card = app.command("/lead-def", "lead")
    assert "<!channel> <@U0REP0002> <b>HTML</b>" in text_of(card)
    shared = app.action("lead_def_share", "Lead", user_id=REP)
    history = app.command("/lead-def", "history lead")
    for payload in (card, shared, history, *app.slack.posted_messages()):
        assert "<!channel>" not in _raw(payload) and "<@U0REP0002>" not in _raw(payload)


def _check_proposal_withdrawn_when_slack_cannot_post_it(app):
    app.slack.fail("chat.postMessage", slack_error="not_in_channel", times=1)
    view = _open_modal(app, "propose MQL", MARKETER)
    state = _db_state(app)
    _submit(app, view, MARKETER, sla="Within 2 hours", summary="Faster")
    note = app.slack.wait_for("chat.postEphemeral", 1)[0].args
    assert "nothing was proposed" in note["text"]
    assert _db_state(app) == state


def _check_seeding_is_idempotent_and_race_safe(app):
    from concurrent.futures import ThreadPoolExecutor

    with app.services.db.session() as session:
        count = session.scalar(select(func.count()).select_from(LeadDefinition))
        session.execute(LeadDefinitionVersion.__table__.delete())
        session.execute(LeadDefinition.__table__.delete())
    with ThreadPoolExecutor(4) as pool:
        added = list(pool.map(lambda _: ld.ensure_seeded(app.services), range(4)))
    assert sum(added) == count and added.count(count) == 1
    assert ld.ensure_seeded(app.services) == 0
    with app.services.db.session() as session:
        assert session.scalar(select(func.count()).select_from(LeadDefinition)) == count
