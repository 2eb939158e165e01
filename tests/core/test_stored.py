"""Stored records are read across versions: a field a newer process added is passed over."""

from __future__ import annotations

import json
from dataclasses import asdict

from core.stored import read_record
from idp.interactions import Interaction
from idp.sessions import SsoSession


def test_a_field_a_newer_version_added_is_passed_over() -> None:
    session = SsoSession(sid="s", user_id="u", auth_time=1, amr=["pwd"], acr="a", expires_at=2)
    stored = json.dumps({**asdict(session), "added_later": {"x": 1}})
    assert read_record(SsoSession, stored) == session


def test_a_field_this_version_added_has_its_default_in_an_older_record() -> None:
    interaction = Interaction(id="i", browser="b", params={"client_id": "c"}, created_at=1)
    older = {k: v for k, v in asdict(interaction).items() if k != "factor_need"}
    assert read_record(Interaction, json.dumps(older)) == interaction
