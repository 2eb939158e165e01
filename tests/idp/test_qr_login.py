"""QR sign-in requests in the store (memory and Redis): states, single use under races,
binding to the desktop and the scanning phone, and the device summary."""

from __future__ import annotations

import threading
import time

import pytest

from core.store import Store
from idp.qr_login import Created, QrError, QrLogins

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


def _create(logins: QrLogins, interaction: str = "interaction-1") -> Created:
    created = logins.create(
        browser="desktop-browser-id",
        interaction=interaction,
        client_name="施工许可",
        address="203.0.113.7",
        user_agent=CHROME_WINDOWS,
    )
    assert created is not None
    return created


def _approved(logins: QrLogins) -> Created:
    created = _create(logins)
    qr = created.request
    logins.scan(qr.id, user_id="u1", sid="phone-sid")
    logins.decide(qr.id, sid="phone-sid", methods=["pwd", "totp"], number=qr.number)
    return created


def _reason(call: object) -> str:
    with pytest.raises(QrError) as raised:
        call()  # type: ignore[operator]
    return raised.value.reason


def test_a_request_goes_from_pending_to_used(store: Store) -> None:
    logins = QrLogins(store=store)
    created = _create(logins)
    qr = created.request
    assert len(qr.id) >= 22 and qr.state == "pending"  # 128 random bits
    assert qr.device == "Chrome 126 · Windows" and qr.number in qr.choices
    assert len(set(qr.choices)) == 3 and all(10 <= int(c) <= 99 for c in qr.choices)
    assert created.token not in store.get(store.key("idp", "qr", qr.id)).decode()  # type: ignore[union-attr]
    scanned, first = logins.scan(qr.id, user_id="u1", sid="phone-sid")
    assert first and scanned.state == "scanned" and scanned.phone_user == "u1"
    assert logins.scan(qr.id, user_id="u1", sid="phone-sid")[1] is False  # a reload
    decided = logins.decide(qr.id, sid="phone-sid", methods=["pwd", "totp"], number=qr.number)
    assert decided.state == "approved"
    taken = logins.consume(
        qr.id, browser="desktop-browser-id", token=created.token, interaction="interaction-1"
    )
    assert taken.methods == ["pwd", "totp"] and taken.phone_sid == "phone-sid"
    again = _reason(
        lambda: logins.consume(
            qr.id, browser="desktop-browser-id", token=created.token, interaction="interaction-1"
        )
    )
    assert again == "used"


def test_only_one_of_many_racing_desktops_consumes_it(store: Store) -> None:
    logins = QrLogins(store=store)
    created = _approved(logins)
    wins: list[str] = []
    failures: list[str] = []
    barrier = threading.Barrier(8)

    def take() -> None:
        barrier.wait()
        try:
            logins.consume(
                created.request.id,
                browser="desktop-browser-id",
                token=created.token,
                interaction="interaction-1",
            )
            wins.append("won")
        except QrError as exc:
            failures.append(exc.reason)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins == ["won"]
    assert set(failures) <= {"used", "state"} and len(failures) == 7


def test_the_desktop_binding(store: Store) -> None:
    logins = QrLogins(store=store)
    created = _approved(logins)
    qr_id, token = created.request.id, created.token
    for browser, presented, interaction in (
        ("another-browser-id", token, "interaction-1"),  # someone else's browser
        ("desktop-browser-id", "x" * 43, "interaction-1"),  # without the poll token
        (None, token, "interaction-1"),
        ("desktop-browser-id", token, "interaction-2"),  # another sign-in of the desktop
    ):
        assert (
            _reason(
                lambda b=browser, p=presented, i=interaction: logins.consume(
                    qr_id, browser=b, token=p, interaction=i
                )
            )
            == "foreign"
        )
    assert _reason(lambda: logins.for_desktop(qr_id, browser="another", token=token)) == "foreign"
    assert logins.for_desktop(qr_id, browser="desktop-browser-id", token=token).state == "approved"


def test_only_the_scanning_phone_answers_and_a_wrong_number_ends_it(store: Store) -> None:
    logins = QrLogins(store=store)
    qr = _create(logins).request
    assert _reason(lambda: logins.decide(qr.id, sid="phone", methods=[], number=qr.number)) == (
        "foreign"  # not scanned yet
    )
    logins.scan(qr.id, user_id="u1", sid="phone")
    assert _reason(lambda: logins.scan(qr.id, user_id="u2", sid="other-phone")) == "foreign"
    assert (
        _reason(lambda: logins.decide(qr.id, sid="other-phone", methods=[], number=qr.number))
        == "foreign"
    )
    wrong = next(c for c in qr.choices if c != qr.number)
    assert logins.decide(qr.id, sid="phone", methods=["pwd"], number=wrong).state == "mismatched"
    assert (
        _reason(lambda: logins.decide(qr.id, sid="phone", methods=["pwd"], number=qr.number))
        == "mismatched"
    )


def test_requests_expire_and_are_limited_per_interaction(store: Store) -> None:
    logins = QrLogins(store=store, lifetime=1)
    created = _create(logins, interaction="short")
    time.sleep(1.1)
    assert logins.get(created.request.id) is None
    assert _reason(lambda: logins.scan(created.request.id, user_id="u", sid="s")) == "expired"
    assert logins.get("not a valid id!") is None
    many = QrLogins(store=store)
    made = [many.create(browser="b", interaction="busy", client_name="", address="", user_agent="")]
    made += [
        many.create(browser="b", interaction="busy", client_name="", address="", user_agent="")
        for _ in range(25)
    ]
    assert sum(m is not None for m in made) == 20
