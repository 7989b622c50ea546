"""Contacts get a role (billing or technical), and a customer has exactly one primary billing contact."""

from django.db import migrations, models


def one_primary_per_customer(apps, schema_editor):
    # Until now every contact was created primary: keep the oldest primary of each customer (or, with none, its
    # oldest contact) and make the others plain billing contacts.
    Contact = apps.get_model("customers", "BillingContact")
    seen = set()
    for contact in Contact.objects.order_by("customer_id", "-is_primary", "id"):
        keep = contact.customer_id not in seen
        seen.add(contact.customer_id)
        if contact.is_primary != keep:
            contact.is_primary = keep
            contact.save(update_fields=["is_primary"])


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="billingcontact",
            name="kind",
            field=models.CharField(choices=[("billing", "Billing"), ("technical", "Technical")], default="billing",
                                   max_length=12, verbose_name="role"),
        ),
        migrations.AlterField(
            model_name="billingcontact",
            name="is_primary",
            field=models.BooleanField(default=False, verbose_name="primary"),
        ),
        migrations.RunPython(one_primary_per_customer, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="billingcontact",
            constraint=models.UniqueConstraint(condition=models.Q(("is_primary", True)), fields=("customer",),
                                               name="one_primary_contact_per_customer"),
        ),
        migrations.AddConstraint(
            model_name="billingcontact",
            constraint=models.CheckConstraint(condition=models.Q(("is_primary", False), ("kind", "billing"), _connector="OR"),
                                              name="primary_contact_is_billing"),
        ),
    ]
