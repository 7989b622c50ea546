"""Every refusal is written once, where it is raised, as a lazy translation with named placeholders
(partnerdesk.errors), and reads in the reader's language: the web's, the API client's (Accept-Language; English
when it asks for none), the command line's (English). No table translates our own English after the fact."""

import ast
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy

from partnerdesk.errors import DomainError, InvalidInput, Refusal

ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile("[\u4e00-\u9fff]")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
LAZY = {"_", "gettext_lazy", "pgettext_lazy"}  # (the modules import gettext_lazy as _)
MESSAGE_PARAMS = ("message", "problem", "text")


def _sources():
    for path in sorted(ROOT.rglob("*.py")):
        if "tests" in path.parts or "migrations" in path.parts or path.name == "conftest.py":
            continue
        yield path.relative_to(ROOT), ast.parse(path.read_text(encoding="utf-8"))


def _name(func) -> str | None:
    return getattr(func, "id", getattr(func, "attr", None))


def _error_classes(trees) -> dict[str, int | None]:
    """DomainError and every class of partnerdesk derived from it, with the position of its message argument
    (None: it composes its own, as ImportFailed does)."""
    found = {"DomainError": 0, "InvalidInput": 0, "NotFound": 0, "Conflict": 0, "OperatorFailure": 0}
    grew = True
    while grew:
        grew = False
        for _path, tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in found and any(
                        _name(base) in found for base in node.bases):
                    init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
                    params = [a.arg for a in init.args.args[1:]] if init else None
                    found[node.name] = (next((i for i, p in enumerate(params) if p in MESSAGE_PARAMS), None)
                                        if params is not None else found[_name(node.bases[0])])
                    grew = True
    return found


def _helpers(tree, carriers: dict) -> dict[str, int]:
    """Functions of a module that pass one of their parameters on as a refusal's message (billing's
    _required_reason(reason, message), the import's _problem(row, column, text)): name -> that parameter's position."""
    found = {}
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef):
            continue
        params = [a.arg for a in fn.args.args]
        for call in ast.walk(fn):
            if isinstance(call, ast.Call) and _name(call.func) in carriers:
                at = carriers[_name(call.func)]
                arg = call.args[at] if at is not None and len(call.args) > at else None
                if isinstance(arg, ast.Name) and arg.id in params:
                    found[fn.name] = params.index(arg.id)
    return found


def _is_written_text(node) -> bool:
    """A message written as plain English: a literal, an f-string, a concatenation or a .format() of them."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _is_written_text(node.left) or _is_written_text(node.right)
    if isinstance(node, ast.IfExp):
        return _is_written_text(node.body) or _is_written_text(node.orelse)
    return isinstance(node, ast.Call) and _name(node.func) == "format" and _is_written_text(node.func.value)


def _lazy_msgids(node):
    for call in ast.walk(node):
        if (isinstance(call, ast.Call) and _name(call.func) in LAZY and call.args
                and isinstance(call.args[-1], ast.Constant) and isinstance(call.args[-1].value, str)):
            yield call.args[-1].value


def _scan():
    """(written texts, lazy msgids): each as (text, where), for every refusal raised or prepared in partnerdesk."""
    trees = list(_sources())
    carriers = {**_error_classes(trees), "Refusal": 0}
    written, msgids = [], {}
    for path, tree in trees:
        helpers = {**carriers, **_helpers(tree, carriers)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and node.exc is not None:
                for msgid in _lazy_msgids(node.exc):
                    msgids.setdefault(msgid, f"{path}:{node.lineno}")
            if not (isinstance(node, ast.Call) and _name(node.func) in helpers):
                continue
            at, where = helpers[_name(node.func)], f"{path}:{node.lineno}"
            if at is None or len(node.args) <= at:
                continue
            if _is_written_text(node.args[at]):
                written.append((ast.unparse(node.args[at])[:100], where))
            for msgid in _lazy_msgids(node.args[at]):
                msgids.setdefault(msgid, where)
        for node in ast.walk(tree):  # the error classes' own sentences (ImportFailed's summary)
            if isinstance(node, ast.ClassDef) and node.name in carriers:
                for msgid in _lazy_msgids(node):
                    msgids.setdefault(msgid, f"{path}:{node.lineno}")
    from partnerdesk.customers.services import OPERATOR_FAILURES

    with translation.override(None):
        for text in OPERATOR_FAILURES.values():
            msgids.setdefault(str(text), "customers/services.py:OPERATOR_FAILURES")
    return written, sorted(msgids.items(), key=lambda item: item[1])


WRITTEN, MSGIDS = _scan()


def test_the_scan_finds_the_refusals():
    assert len(MSGIDS) > 150
    found = dict(MSGIDS)
    assert "the invoice is already void" in found  # a raise
    assert "a reason is required to reverse a payment" in found  # through billing's _required_reason
    assert "required column missing from the header" in found  # through the import's _problem
    assert "at most %(count)s characters" in found  # a Refusal (bounds.text_problem)
    assert "the %(part)s template does not compile: %(detail)s" in found  # TemplateProblem
    assert "row %(row)s, column %(column)s: %(problem)s" in found  # CalendarFileError's own sentence
    assert "The operator cannot be reached just now; try again later. (%(detail)s)" in found


def test_no_refusal_is_written_as_plain_english():
    assert not WRITTEN, "write these as _(\"... %(name)s ...\") with the values as keyword arguments:\n" + "\n".join(
        f"  {where}: {text}" for text, where in WRITTEN)


@pytest.mark.parametrize("language", ["zh-hans", "zh-hant"])
@pytest.mark.parametrize(("msgid", "where"), MSGIDS, ids=[w for _, w in MSGIDS])
def test_every_refusal_is_translated_with_the_same_placeholders(msgid, where, language):
    with translation.override(language):
        translated = gettext(msgid)
    assert translated != msgid and CJK.search(translated), (
        f"{where}: add {msgid!r} with its {language} translation to partnerdesk/locale/*/LC_MESSAGES/django.po")
    assert sorted(PLACEHOLDER.findall(translated)) == sorted(PLACEHOLDER.findall(msgid)), (
        f"{where}: the {language} translation of {msgid!r} has other placeholders: {translated!r}")


def test_a_refusal_reads_as_a_sentence_in_each_language():
    refusal = InvalidInput(gettext_lazy("a reason is required"), field="reason")
    assert refusal.message_in("en") == "A reason is required." == str(refusal)
    for language in ("zh-hans", "zh-hant"):
        translated = refusal.message_in(language)
        assert translated.endswith("。") and not translated.endswith(".。"), translated


def test_a_status_in_a_refusal_reads_as_its_label_in_the_readers_language(customer_a):
    from partnerdesk.billing.services import issue_invoice
    from partnerdesk.conftest import make_invoice

    invoice = make_invoice(customer_a)  # issued
    type(invoice).objects.filter(pk=invoice.pk).update(status="partially_paid")
    with pytest.raises(DomainError) as refused:
        issue_invoice(invoice, actor=None)
    assert refused.value.message_in("en") == f"Invoice {invoice.number} is partially paid; only a draft can be issued."
    assert refused.value.message_in("zh-hans") == f"发票 {invoice.number} 的状态为“部分付款”；只有草稿可以开具。"


def test_a_value_that_starts_a_refusal_keeps_its_case():
    refusal = Refusal(gettext_lazy("%(email)s is not an email address"), email="bob@example.cn")
    with translation.override("en"):
        assert str(refusal) == "bob@example.cn is not an email address."
    with translation.override("zh-hans"):
        assert str(refusal) == "bob@example.cn 不是有效的电子邮件地址。"


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
    assert body["detail"].startswith("付款方式必须是以下之一：") and "alipay" in body["detail"]
    assert detail("POST", "/payments", None, payment)[1]["detail"].startswith("Method must be one of bank_transfer, alipay")


@pytest.mark.parametrize(("change", "field"), [
    ({"amount": "ten"}, "amount"),
    ({"amount": 10.5}, "amount"),
    ({"received_on": "2026-13-45"}, "received_on"),
    ({"received_on": "2100-01-01"}, "received_on"),
    ({"customer_id": "abc"}, "customer_id"),
    ({"received_on": None}, "received_on"),
    ({"reference": "x\u0000y"}, "reference"),
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
        assert not CJK.search(english["errors"][0]["message"]), english
    else:
        message = chinese["detail"]
    assert CJK.search(message), (english, message)


def test_one_refusal_reads_the_same_through_the_api_a_page_and_the_command_line(client, tokens, users, customer_a):
    """A payment dated in the future, refused by billing.services.record_payment, from one msgid everywhere."""
    import json

    from django.urls import reverse

    from partnerdesk.web.tests.factories import client_for

    future = (dt.date(2026, 11, 24) + dt.timedelta(days=30)).isoformat()
    with translation.override("zh-hans"):
        chinese = gettext("a payment cannot be received in the future")
    assert CJK.search(chinese)
    expected = {"en": "A payment cannot be received in the future.", "zh-hans": chinese + "。"}

    # the API: Chinese when asked, English when the client names no language
    payment = {"customer_id": customer_a.pk, "amount": "10.00", "received_on": future, "method": "alipay"}
    headers = {"Authorization": f"Bearer {tokens['billing_agent']}"}
    for language, wanted in ((None, expected["en"]), ("zh-CN", expected["zh-hans"])):
        response = client.post("/api/v1/payments", json.dumps(payment), content_type="application/json",
                               headers={**headers, **({"Accept-Language": language} if language else {})})
        assert response.status_code == 422 and response.json()["field"] == "received_on"
        assert response.json()["detail"] == wanted

    # a page: the form again, the refusal on the field, in the reader's language
    for language in ("zh-hans", "en"):
        page = client_for(users["billing_agent"], language=language).post(
            reverse("payment_new", args=[customer_a.pk]),
            {"amount": "10.00", "received_on": future, "method": "alipay", "reference": "", "idempotency_key": "k"})
        assert page.status_code == 200
        assert page.context["form"].errors["received_on"] == [expected[language]]

    # the command line: English, exit code 2
    with pytest.raises(CommandError) as refused:
        call_command("record_payment", "--customer", str(customer_a.pk), "--amount", "10.00", "--method", "alipay",
                     "--date", future, stdout=io.StringIO())
    assert refused.value.returncode == 2
    assert str(refused.value) == f"--received-on: {expected['en']}"


def test_the_command_line_speaks_english_whatever_the_language_active(customer_a):
    with translation.override("zh-hans"), pytest.raises(CommandError) as refused:
        call_command("record_payment", "--customer", str(customer_a.pk), "--amount", "10.00", "--method", "cheque",
                     stdout=io.StringIO())
    assert str(refused.value).startswith("--method: Method must be one of bank_transfer, alipay")


def test_a_refusal_kept_in_a_record_reads_in_the_readers_language():
    """An operator request keeps why its last attempt failed as the refusal's English (str(exc)); a page shows
    it in the reader's language, the operator's own words quoted as they were."""
    from partnerdesk.customers.services import OPERATOR_FAILURES
    from partnerdesk.errors import OperatorFailure
    from partnerdesk.service_messages import translate_system_text

    detail = "PATCH /v1/x failed after 4 attempts (last: HTTP 503)"
    kept = str(OperatorFailure(OPERATOR_FAILURES["OperatorUnavailable"], detail=detail))
    assert kept == ("The operator cannot be reached just now; try again later. "
                    "(PATCH /v1/x failed after 4 attempts (last: HTTP 503))")
    with translation.override("zh-hans"):
        assert translate_system_text(kept) == "运营方暂时无法访问，请稍后重试。（PATCH /v1/x failed after 4 attempts (last: HTTP 503)）"


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
