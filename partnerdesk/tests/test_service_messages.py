"""Every refusal a service raises reads in the reader's language: the web shows it translated, and the API
in the language the client asks for with Accept-Language (English when it asks for none)."""

import ast
import re
from pathlib import Path

import pytest
from django.utils import translation

from partnerdesk.service_messages import FIXED, PATTERNS, translate_service_message

ROOT = Path(__file__).resolve().parents[1]
ERRORS = {"InvalidInput", "Conflict", "NotFound", "DomainError", "OperatorFailure"}


def _raised_messages():
    """(message or sample message, where) for each DomainError raised with a written message. An f-string's
    values become samples: 'x' where it shows a repr, 7 elsewhere."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args
                    and getattr(node.func, "id", getattr(node.func, "attr", None)) in ERRORS):
                continue
            first, where = node.args[0], f"{path.relative_to(ROOT)}:{node.lineno}"
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append((first.value, where))
            elif isinstance(first, ast.JoinedStr):
                sample = "".join(part.value if isinstance(part, ast.Constant) else ("'x'" if part.conversion == ord("r") else "7")
                                 for part in first.values)
                found.append((sample, where))
    return found


MESSAGES = _raised_messages()
# Messages for the operator's own failures quote Partner Center's answer: they stay as the operator wrote them.
OPERATORS_WORDS = ("The operator",)


def test_the_scan_finds_the_services_messages():
    assert len(MESSAGES) > 80
    assert any(m == "the invoice is already void" for m, _ in MESSAGES)


@pytest.mark.parametrize("language", ["zh-hans", "zh-hant"])
@pytest.mark.parametrize(("message", "where"), MESSAGES, ids=[w for _, w in MESSAGES])
def test_every_message_a_service_raises_is_translated(message, where, language):
    if message.startswith(OPERATORS_WORDS):
        return
    known = message in FIXED or any(pattern.match(message) for pattern, _ in PATTERNS)
    assert known, f"{where}: add {message!r} to partnerdesk/service_messages.py (FIXED or PATTERNS)"
    with translation.override(language):
        translated = translate_service_message(message)
    assert translated != message and any("\u4e00" <= ch <= "\u9fff" for ch in translated), f"{where}: no {language} translation"


def test_the_api_answers_in_the_language_the_client_asks_for(client, tokens, customer_a):
    import json

    auth = {"Authorization": f"Bearer {tokens['billing_agent']}"}

    def detail(method, path, language=None, body=None):
        headers = {**auth, **({"Accept-Language": language} if language else {})}
        response = client.generic(method, "/api/v1" + path, json.dumps(body) if body else "", content_type="application/json",
                                  headers=headers)
        return response.status_code, response.json()

    assert detail("GET", "/invoices/999999") == (404, {"detail": "Not found.", "code": "not_found"})
    assert detail("GET", "/invoices/999999", "zh-CN")[1]["detail"] == "未找到。"
    assert detail("GET", "/invoices/999999", "zh-TW")[1]["detail"] == "找不到。"
    payment = {"customer_id": customer_a.pk, "amount": "10.00", "received_on": "2026-11-01", "method": "cheque"}
    status, body = detail("POST", "/payments", "zh-CN,zh;q=0.9,en;q=0.8", payment)
    assert status == 422 and body["code"] == "invalid_input" and body["field"] == "method"  # for programs: unchanged
    assert body["detail"].startswith("必须是以下之一") and "alipay" in body["detail"]
    assert detail("POST", "/payments", None, payment)[1]["detail"].startswith("method must be one of")


@pytest.mark.parametrize(("change", "field"), [
    ({"amount": "ten"}, "amount"),
    ({"amount": 10.5}, "amount"),
    ({"received_on": "2026-13-45"}, "received_on"),
    ({"customer_id": "abc"}, "customer_id"),
    ({"received_on": None}, "received_on"),
])
def test_the_apis_schema_checks_answer_in_the_clients_language_too(client, tokens, customer_a, change, field):
    import json

    payment = {"customer_id": customer_a.pk, "amount": "10.00", "received_on": "2026-11-01", "method": "alipay", **change}
    payment = {k: v for k, v in payment.items() if v is not None}
    headers = {"Authorization": f"Bearer {tokens['billing_agent']}"}
    english = client.post("/api/v1/payments", json.dumps(payment), content_type="application/json", headers=headers).json()
    chinese = client.post("/api/v1/payments", json.dumps(payment), content_type="application/json",
                          headers={**headers, "Accept-Language": "zh-TW"}).json()
    assert english["field"] == chinese["field"] == field and english["code"] == chinese["code"] == "invalid_input"
    if "errors" in english:  # refused by the schema; otherwise by the service, as in the test above
        assert [e["type"] for e in english["errors"]] == [e["type"] for e in chinese["errors"]]
        message = chinese["errors"][0]["message"]
        assert chinese["detail"] == f"{field}: {message}"
    else:
        message = chinese["detail"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), (english, message)


def test_a_status_in_a_message_reads_as_its_label():
    with translation.override("zh-hans"):
        assert translate_service_message("invoice INV-2026-000001 is partially_paid") == "发票 INV-2026-000001 的状态为“部分付款”。"
    with translation.override("en"):
        assert translate_service_message("invoice INV-2026-000001 is partially_paid") == (
            "Invoice INV-2026-000001 is partially paid.")


def test_a_refusal_reads_as_a_sentence_in_each_language():
    with translation.override("en"):
        assert translate_service_message("a reason is required") == "A reason is required."
    for language in ("zh-hans", "zh-hant"):
        with translation.override(language):
            translated = translate_service_message("a reason is required")
            assert translated.endswith("。") and not translated.endswith(".。"), translated


# --- what PartnerDesk writes into its records, and the audit log's actions ------------------------------------

ACTION_CODE = re.compile(r"^[a-z_]+\.[a-z_]+$")


def _keyword_constants(name):
    """(value, where) of each string constant passed as keyword `name` outside tests and migrations."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if "tests" in path.parts or "migrations" in path.parts or path.name == "conftest.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == name:
                value = node.value
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found.append((value.value, f"{path.relative_to(ROOT)}:{value.lineno}"))
                elif isinstance(value, ast.JoinedStr):
                    sample = "".join(p.value if isinstance(p, ast.Constant) else "2026-11-24" if "run for" in ast.unparse(value)
                                     else "7" for p in value.values)
                    found.append((sample, f"{path.relative_to(ROOT)}:{value.lineno}"))
    return found


ACTIONS = [(code, where) for code, where in _keyword_constants("action") if ACTION_CODE.match(code)]
REASONS = [(text, where) for text, where in _keyword_constants("reason") if text]


def test_the_scans_find_the_actions_and_the_reasons():
    assert len(ACTIONS) > 30 and any(code == "payment.recorded" for code, _ in ACTIONS)
    assert any(text == "tried again now" for text, _ in REASONS)


@pytest.mark.parametrize("language", ["zh-hans", "zh-hant"])
@pytest.mark.parametrize(("code", "where"), ACTIONS, ids=[w for _, w in ACTIONS])
def test_every_audit_action_has_a_name_in_each_language(code, where, language):
    from partnerdesk.audit.labels import ACTION_LABELS, action_label

    assert code in ACTION_LABELS, f"{where}: add {code!r} to partnerdesk/audit/labels.py"
    with translation.override(language):
        assert any("\u4e00" <= ch <= "\u9fff" for ch in action_label(code)), f"{where}: no {language} name for {code}"


@pytest.mark.parametrize("language", ["zh-hans", "zh-hant"])
@pytest.mark.parametrize(("text", "where"), REASONS, ids=[w for _, w in REASONS])
def test_every_reason_partnerdesk_writes_reads_in_each_language(text, where, language):
    from partnerdesk.service_messages import SYSTEM_FIXED, SYSTEM_PATTERNS, translate_system_text

    if where.startswith("demo"):
        return  # the demo's data, as a person would have typed it
    known = text in SYSTEM_FIXED or any(pattern.match(text) for pattern, _ in SYSTEM_PATTERNS)
    assert known, f"{where}: add {text!r} to SYSTEM_FIXED or SYSTEM_PATTERNS in partnerdesk/service_messages.py"
    with translation.override(language):
        assert any("\u4e00" <= ch <= "\u9fff" for ch in translate_system_text(text)), f"{where}: no {language} translation"


def test_typed_text_is_shown_as_typed():
    from partnerdesk.service_messages import translate_system_text

    with translation.override("zh-hans"):
        assert translate_system_text("customer called, will pay Friday") == "customer called, will pay Friday"
        assert translate_system_text("Non-payment: invoice INV-2026-000042 unpaid 21 days after its due date") == \
            "未付款：发票 INV-2026-000042 在到期日后 21 天仍未支付"
        assert translate_system_text("subscription is suspended") == "订阅状态为“已暂停”"
