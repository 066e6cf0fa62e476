"""Query-side normalisation of the shorthand reps type in Slack ("ppl", "w/", "$$", "yr", "til").

A general list of chat and business abbreviations, not synonyms for particular queries: it
only spells out what the rep already said, so both the embedding model (trained on written
English) and BM25 (which matches the library's written words) can read it. Acronyms that the
library itself uses (ROI, TCO, SSO, SOC, CFO ...) are left alone.
"""

from __future__ import annotations

import re

__all__ = ["SHORTHAND", "expand_shorthand"]

SHORTHAND: dict[str, str] = {
    # people and organisations
    "ppl": "people",
    "peeps": "people",
    "champ": "champion",
    "champs": "champions",
    "mgmt": "management",
    "mgr": "manager",
    "mgrs": "managers",
    "exec": "executive",
    "execs": "executives",
    "eng": "engineering",
    "engs": "engineers",
    "dev": "developer",
    "devs": "developers",
    "dept": "department",
    "depts": "departments",
    "org": "organization",
    "orgs": "organizations",
    "acct": "account",
    "accts": "accounts",
    "cust": "customer",
    "custs": "customers",
    "biz": "business",
    "govt": "government",
    "infosec": "information security",
    # time
    "yr": "year",
    "yrs": "years",
    "mos": "months",
    "wk": "week",
    "wks": "weeks",
    "hr": "hour",
    "hrs": "hours",
    "mins": "minutes",
    "qtr": "quarter",
    "qtrs": "quarters",
    "til": "until",
    "till": "until",
    "eoy": "end of year",
    "eoq": "end of quarter",
    "eom": "end of month",
    "yoy": "year over year",
    "fy": "fiscal year",
    "asap": "as soon as possible",
    "rn": "right now",
    "tmrw": "tomorrow",
    # connectives and chat
    "w/": "with",
    "w/o": "without",
    "b/c": "because",
    "bc": "because",
    "cuz": "because",
    "thru": "through",
    "tho": "though",
    "pls": "please",
    "plz": "please",
    "approx": "approximately",
    "vs": "versus",
    "convo": "conversation",
    "msg": "message",
    "diff": "different",
    "info": "information",
    "req": "requirement",
    "reqs": "requirements",
    "ooo": "out of office",
    # deals
    "poc": "proof of concept",
    "sow": "statement of work",
    "rfp": "request for proposal",
    "mm": "million",
    "mil": "million",
    "bn": "billion",
    "$": "money cost",
    "$$": "money cost",
    "$$$": "money cost",
}

# Longest first so "w/o" wins over "w/"; words only at word boundaries; "30k" -> "30 thousand".
_TOKEN = re.compile(r"\$+|\b(?:w/o|w/|b/c)|\b\d+(?:\.\d+)?k\b|[A-Za-z]+", re.IGNORECASE)
_THOUSANDS = re.compile(r"^(\d+(?:\.\d+)?)k$", re.IGNORECASE)


def expand_shorthand(text: str) -> str:
    """``"3-4k ppl w/ no signal til Q3"`` -> ``"3-4 thousand people with no signal until Q3"``."""

    def repl(m: re.Match) -> str:
        word = m.group(0)
        low = word.lower()
        thousands = _THOUSANDS.match(low)
        if thousands:
            return f"{thousands.group(1)} thousand"
        if low.startswith("$"):
            return SHORTHAND["$$"]
        return SHORTHAND.get(low, word)

    return _TOKEN.sub(repl, text or "")
