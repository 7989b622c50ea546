from django.db import migrations, models
from django.db.models import F


def told_before(apps, schema_editor):
    # Requests done before this field existed were told of as they finished (one email per cause).
    OperatorRequest = apps.get_model("dunning", "OperatorRequest")
    OperatorRequest.objects.filter(status="done").update(told_at=F("done_at"))


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
