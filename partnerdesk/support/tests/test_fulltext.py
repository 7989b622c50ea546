import pytest
from partnerdesk.support import fulltext

def test_tokens():
    assert fulltext.tokens("发票金额 INV-2026-000123 wang@163.com") == ["发票", "票金", "金额", "inv2026000123", "inv", "2026", "000123", "wang163com", "wang", "163", "com"]

@pytest.mark.django_db
def test_search_roundtrip(customer_a):
    customer = customer_a
    from partnerdesk.support.models import Case, CaseMessage
    case = Case.objects.create(customer=customer, subject="账单问题 Invoice INV-2026-000123")
    CaseMessage.objects.create(case=case, body="我们对十一月的发票金额有疑问 please check", kind="public")
    CaseMessage.objects.create(case=case, body="内部备注 secretword", kind="internal")
    assert fulltext.matching_case_ids("发票", customer_id=None, include_internal=False, limit=10) == [case.pk]
    assert fulltext.matching_case_ids("INV-2026-000123", customer_id=None, include_internal=False, limit=10) == [case.pk]
    assert fulltext.matching_case_ids("secretword", customer_id=None, include_internal=False, limit=10) == []
    assert fulltext.matching_case_ids("secretword", customer_id=None, include_internal=True, limit=10) == [case.pk]
    assert fulltext.matching_case_ids("发票 check", customer_id=customer.pk, include_internal=False, limit=10) == [case.pk]
    assert fulltext.matching_case_ids("发票", customer_id=customer.pk + 1, include_internal=False, limit=10) == []
