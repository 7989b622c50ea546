from django.db import migrations, models
from django.db.models import Exists, OuterRef


def told_before(apps, schema_editor):
    # Before this field, the customer was emailed once per cause, when all of the cause's requests had ended: a
    # done request was told of unless a request of its cause is still to be carried out.
    OperatorRequest = apps.get_model("dunning", "OperatorRequest")
    waiting = OperatorRequest.objects.filter(customer_id=OuterRef("customer_id"), action=OuterRef("action"),
                                             cause=OuterRef("cause"), status__in=["pending", "in_progress"])
    OperatorRequest.objects.filter(status="done").exclude(Exists(waiting)).update(told_at=models.F("done_at"))


class Migration(migrations.Migration):

    dependencies = [
        ("dunning", "0006_queued_rows_without_db_foreign_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="operatorrequest",
            name="told_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(told_before, migrations.RunPython.noop),
    ]
