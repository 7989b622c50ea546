"""Credit notes get lines; a payment can be reversed (kept, marked with the day and the reason)."""

import django.db.models.deletion
import partnerdesk.billing.money
from django.db import migrations, models


def one_line_per_credit_note(apps, schema_editor):
    # A credit note made before lines existed credits its whole amount on one line, described by its reason.
    CreditNote = apps.get_model("billing", "CreditNote")
    CreditNoteLine = apps.get_model("billing", "CreditNoteLine")
    CreditNoteLine.objects.bulk_create(
        CreditNoteLine(credit_note_id=note.pk, description=(note.reason or note.number)[:300], amount=note.amount)
        for note in CreditNote.objects.filter(lines__isnull=True).iterator()
    )


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0007_payment_check_tolerance'),
    ]

    operations = [
        migrations.AddField(
            model_name='payment',
            name='reversal_reason',
            field=models.TextField(blank=True, verbose_name='reversal reason'),
        ),
        migrations.AddField(
            model_name='payment',
            name='reversed_on',
            field=models.DateField(blank=True, null=True, verbose_name='reversed on'),
        ),
        migrations.CreateModel(
            name='CreditNoteLine',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('description', models.CharField(max_length=300, verbose_name='description')),
                ('amount', partnerdesk.billing.money.MoneyField(decimal_places=2, max_digits=18, verbose_name='amount')),
                ('credit_note', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lines', to='billing.creditnote')),
            ],
            options={
                'ordering': ['id'],
                'constraints': [models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='credit_note_line_amount_positive')],
            },
        ),
        migrations.RunPython(one_line_per_credit_note, migrations.RunPython.noop),
    ]
