"""An internal note never reaches a customer, by any path: the API (case, queue, CSV, search, attachments),
the portal pages and files, the signed answer page, and every email that left. The same note is visible to
staff through the same routes, so each check can fail."""

import json
import re

import pytest
from django.test import Client

from partnerdesk.notifications.services import send_all_due
from partnerdesk.support import services
from partnerdesk.support.links import answer_token
from partnerdesk.support.models import CaseAttachment

pytestmark = pytest.mark.django_db

SECRET = "机密备注ZX7731"  # Chinese and a code: the search must be able to find it (for staff)
FILE_SECRET = b"internal-only-file-QK2290"


@pytest.fixture
def story(users, customer_a, smtp_server):
    """A case the customer's user opened, with an internal note (and a file on it), a public reply with a
    file, and a resolution; every email sent."""
    alice, agent = users["customer_a"], users["billing_agent"]
    alice.email = "alice@contoso.example.cn"
    alice.save(update_fields=["email"])
    case = services.open_case(customer=customer_a, subject="发票金额疑问", description="请核对十一月发票。",
                              actor=alice, channel="portal")
    note = services.add_note(case=case, body=f"{SECRET}: 客户可能要求退款，先别告诉客户",
                             actor=agent, attachments=[{"filename": "internal.txt", "content": FILE_SECRET,
                                                        "content_type": "text/plain"}])
    public = services.reply(case=case, body="您好，我们正在核对。", actor=agent,
                            attachments=[{"filename": "public.txt", "content": b"public file",
                                          "content_type": "text/plain"}])
    services.resolve(case=case, body="已核对，金额无误。", actor=agent)
    send_all_due()
    internal_file = CaseAttachment.objects.get(message=note)
    public_file = CaseAttachment.objects.get(message=public)
    return {"case": case, "note": note, "internal_file": internal_file, "public_file": public_file}


def _text(answer) -> str:
    """A response as text, JSON decoded (so Chinese is not hidden behind \\u escapes)."""
    if answer["Content-Type"].startswith("application/json"):
        return json.dumps(answer.json(), ensure_ascii=False)
    return answer.content.decode()


def _leaks(text: str) -> bool:
    return SECRET in text or "ZX7731" in text or "internal.txt" in text or FILE_SECRET.decode() in text


def test_no_path_shows_an_internal_note_to_the_customer(story, api_client, tokens, users, smtp_server, client):
    case, internal_file, public_file = story["case"], story["internal_file"], story["public_file"]
    customer_api, staff_api = api_client.as_(tokens["customer_a"]), api_client.as_(tokens["billing_agent"])

    # The API: the case, the queue, the CSV export, the search, the files.
    for path, params in [(f"/cases/{case.pk}", {}), ("/cases", {"queue": "all"}), ("/cases.csv", {})]:
        answer = customer_api.get(path, **params)
        assert answer.status_code == 200, (path, answer.content[:300])
        assert not _leaks(_text(answer)), path
    for q in (SECRET, "ZX7731", "机密备注", "告诉客户"):
        answer = customer_api.get("/cases/search", q=q).json()
        assert answer["items"] == [], q  # (the answer repeats the query itself, so only the results count)
    # ... while staff see the note through the very same routes.
    assert SECRET in _text(staff_api.get(f"/cases/{case.pk}"))
    found = staff_api.get("/cases/search", q="ZX7731").json()
    assert case.pk in [row["id"] for row in found["items"]]
    # The search finds the case's public text for the customer (so the empty answers above are not vacuous).
    assert case.pk in [row["id"] for row in customer_api.get("/cases/search", q="核对").json()["items"]]

    internal_url = f"/cases/{case.pk}/attachments/{internal_file.pk}"
    assert customer_api.get(internal_url).status_code == 404
    assert customer_api.get(f"/cases/{case.pk}/attachments/{public_file.pk}").status_code == 200
    assert staff_api.get(internal_url).status_code == 200

    # The portal pages and files.
    portal = Client()
    portal.force_login(users["customer_a"])
    for url in ["/portal/support/", f"/portal/support/{case.pk}/"]:
        page = portal.get(url)
        assert page.status_code == 200 and not _leaks(page.content.decode()), url
    assert "您好，我们正在核对。" in portal.get(f"/portal/support/{case.pk}/").content.decode()
    assert portal.get(f"/portal/support/{case.pk}/files/{internal_file.pk}/").status_code == 404
    assert portal.get(f"/portal/support/{case.pk}/files/{public_file.pk}/").status_code == 200

    # The signed answer page of the resolution email.
    answer_page = Client().get(f"/support/answer/{answer_token(case)}/")
    assert answer_page.status_code == 200 and not _leaks(answer_page.content.decode())

    # Every email that left: acknowledgement, reply, resolution; none carries the note or its file.
    received = smtp_server.wait_for(3)
    assert len(received) == 3
    for message in received:
        raw = message.as_bytes()
        assert SECRET.encode() not in raw and FILE_SECRET not in raw
        assert not _leaks(smtp_server.text(message))
        for part in message.walk():
            payload = part.get_payload(decode=True) or b""
            assert FILE_SECRET not in payload and not re.search(rb"ZX7731", payload)
