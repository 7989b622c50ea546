"""China's official working-day calendar: per year, the public holidays and the make-up working days (调休)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class YearStatus(models.TextChoices):
    PROVISIONAL = "provisional", _("Provisional")
    CONFIRMED = "confirmed", _("Confirmed")


class YearSource(models.TextChoices):
    PACKAGE = "holidays-package", _("holidays package")
    MANUAL = "manual", _("Entered by hand")
    FILE = "file", _("Loaded from a file")


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", _("Holiday")
    WORKDAY = "workday", _("Make-up working day")


class CalendarYear(models.Model):
    """One year's calendar as loaded here; confirmed once it matches the State Council's published schedule."""

    year = models.PositiveSmallIntegerField(_("year"), primary_key=True)
    status = models.CharField(_("status"), max_length=12, choices=YearStatus.choices, default=YearStatus.PROVISIONAL)
    source = models.CharField(_("source"), max_length=20, choices=YearSource.choices, default=YearSource.MANUAL)
    note = models.TextField(_("note"), blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["year"]

    def __str__(self) -> str:
        return f"{self.year} ({self.status})"

    @property
    def is_confirmed(self) -> bool:
        return self.status == YearStatus.CONFIRMED


class CalendarDay(models.Model):
    """A day that departs from the Monday-to-Friday week: a holiday, or a weekend day worked instead (调休)."""

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=DayKind.choices)
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.kind} {self.name}".rstrip()

    @property
    def is_working_day(self) -> bool:
        return self.kind == DayKind.WORKDAY
