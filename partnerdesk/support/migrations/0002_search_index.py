"""The desk's full-text index (support/fulltext.py): a tsvector with GIN on PostgreSQL, FTS5 on SQLite."""

from django.db import migrations


def create(apps, schema_editor):
    from partnerdesk.support.fulltext import create_index_table

    create_index_table(schema_editor)


def drop(apps, schema_editor):
    from partnerdesk.support.fulltext import drop_index_table

    drop_index_table(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("support", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
