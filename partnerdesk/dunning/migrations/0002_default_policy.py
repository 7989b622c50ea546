from django.db import migrations


def create_default(apps, schema_editor):
    from partnerdesk.dunning.policies import create_default_policy

    Policy = apps.get_model("dunning", "CollectionsPolicy")
    if not Policy.objects.filter(is_default=True).exists():
        create_default_policy(Policy, apps.get_model("dunning", "PolicyStage"))


class Migration(migrations.Migration):
    dependencies = [("dunning", "0001_initial")]
    operations = [migrations.RunPython(create_default, migrations.RunPython.noop)]
