from django.apps import AppConfig


class DunningConfig(AppConfig):
    name = "partnerdesk.dunning"
    label = "dunning"
    verbose_name = "Collections"

    def ready(self):
        from partnerdesk.billing.services import hold_from_automatic_allocation

        from . import (
            signals,  # noqa: F401  (reactivation when a payment clears the overdue balance)
            tasks,  # noqa: F401  (enqueues its task when the services ask for work)
        )
        from .services import invoices_under_open_dispute

        hold_from_automatic_allocation(invoices_under_open_dispute)
