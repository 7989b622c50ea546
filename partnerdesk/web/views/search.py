"""The staff search page behind the header's search box."""

from django.shortcuts import render

from partnerdesk.errors import InvalidInput
from partnerdesk.search.services import KIND_LABELS, KINDS, search

from ..access import staff_page


@staff_page("search.use")
def search_page(request):
    """Hits of every kind for ?q=, grouped by kind, each linking to where it lives."""
    q = request.GET.get("q", "")
    error = None
    try:
        results = search(request.user, q)
    except InvalidInput as exc:
        results, error = None, exc.message
    groups = [(kind, KIND_LABELS[kind], results.of_kind(kind), kind in results.more) for kind in KINDS] if results else []
    return render(request, "web/search.html", {
        "q": q, "results": results, "groups": [g for g in groups if g[2]], "error": error,
    })
