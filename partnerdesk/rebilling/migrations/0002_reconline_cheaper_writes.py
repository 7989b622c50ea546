"""Cheaper writes of reconciliation lines (the import of a file of millions of rows): the invoice_line index holds
only billed lines, and file, customer and subscription carry no database foreign key (one query per line at
commit); the importer and matching verify and lock what lines point at once per distinct row instead
(rebilling.matching.hold_references)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0009_payment_instructions'),
        ('customers', '0004_billingcontact_contact_email_upper_and_more'),
        ('rebilling', '0001_initial'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='reconline',
            name='reconline_invoice_line',
        ),
        migrations.AlterField(
            model_name='reconline',
            name='customer',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='customers.customer'),
        ),
        migrations.AlterField(
            model_name='reconline',
            name='file',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='lines', to='rebilling.reconfile'),
        ),
        migrations.AlterField(
            model_name='reconline',
            name='subscription',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='customers.subscription'),
        ),
        migrations.AddIndex(
            model_name='reconline',
            index=models.Index(condition=models.Q(('invoice_line__isnull', False)), fields=['invoice_line'], name='reconline_invoice_line_billed'),
        ),
    ]
