"""Customers get an owner (the staff member responsible) and a pinyin sort key of their name."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def fill_name_sort(apps, schema_editor):
    from partnerdesk.customers.sorting import name_sort_key

    Customer = apps.get_model("customers", "Customer")
    batch = []
    for customer in Customer.objects.only("id", "name").iterator(chunk_size=2000):
        customer.name_sort = name_sort_key(customer.name)
        batch.append(customer)
        if len(batch) >= 2000:
            Customer.objects.bulk_update(batch, ["name_sort"])
            batch = []
    Customer.objects.bulk_update(batch, ["name_sort"])


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0002_contact_kind_one_primary"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="name_sort",
            field=models.CharField(db_index=True, default="", editable=False, max_length=1400),
        ),
        migrations.AddField(
            model_name="customer",
            name="owner",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                    related_name="owned_customers", to=settings.AUTH_USER_MODEL, verbose_name="owner"),
        ),
        migrations.AlterModelOptions(name="customer", options={"ordering": ["name_sort", "name", "id"]}),
        migrations.RunPython(fill_name_sort, migrations.RunPython.noop),
    ]
