"""The fraud API's request and response shapes. Money goes out and comes in as decimal strings ("1280.00")."""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Field, Schema

from partnerdesk.api_schemas import Amount, BusinessDate, Id, Note, Reason, Text

SignalName = Literal["spend_spike", "usage_before_payment", "new_customer_high_spend", "over_limit", "unpaid_growth",
                     "subscription_burst", "new_region"]
StatusName = Literal["open", "confirmed", "dismissed", "expected", "cleared"]
LimitKindName = Literal["credit_limit", "budget"]
# A score: a decimal string with at most 8 digits before the point and 2 after.
Score = Annotated[str, Field(pattern=r"^[0-9]{1,8}(\.[0-9]{1,2})?$", examples=["3.50"])]
RequiredReason = Annotated[Reason, Field(min_length=1)]


class FraudAlertOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    subscription_id: int | None
    signal: str
    signal_name: str
    subject: str = Field(description='what within the customer it is about (a meter, a region, a subscription); "" '
                                     "for the customer as a whole")
    status: str
    verdict: str
    score: Decimal
    amount: Decimal = Field(description="money at risk (CNY)")
    first_seen_on: dt.date
    last_seen_on: dt.date
    times_seen: int = Field(description="days the signal fired")
    opened_at: dt.datetime
    acted_at: dt.datetime | None
    closed_at: dt.datetime | None
    case_id: int | None


class FraudActionOut(Schema):
    id: int
    kind: str
    kind_name: str
    subscription_id: int | None
    automatic: bool
    actor: str
    reason: str
    done_at: dt.datetime
    undone_at: dt.datetime | None
    undo_reason: str
    service_request_id: int | None


class FraudHistoryOut(Schema):
    at: dt.datetime
    actor: str
    action: str
    reason: str


class FraudControlsOut(Schema):
    prepayment_required: bool
    orders_held: bool
    reason: str


class FraudAlertDetailOut(FraudAlertOut):
    explanation: str = Field(description="in plain language, in the client's language, with the figures")
    figures: dict
    series: list = Field(description='the chart\'s points, [["2026-11-20", "1234.50"], ...]')
    tripped: str | None = Field(description="the ISO date of the point that tripped the alert")
    close_reason: str
    actions: list[FraudActionOut]
    controls: FraudControlsOut
    history: list[FraudHistoryOut] = Field(description="the audit log of the alert, its actions and the customer's controls")


class FraudReasonIn(Schema):
    reason: RequiredReason


class FraudExpectedIn(Schema):
    reason: RequiredReason
    until: BusinessDate | None = Field(None, description="the pattern stops alerting until this day (none: 90 days "
                                                         "from today); removing the pattern ends it earlier")


class FraudExpectedPatternOut(Schema):
    id: int
    customer_id: int
    signal: str
    signal_name: str
    subject: str = Field(description='"" for any subject of the signal')
    until: dt.date | None
    in_force: bool = Field(description="the pattern keeps the signal quiet today")
    reason: str
    alert_id: int | None
    created_by: str
    created_at: dt.datetime


class FraudSuspendIn(Schema):
    reason: RequiredReason
    subscription_ids: list[Id] | None = Field(None, max_length=200, description="none: every active subscription "
                                                                                "of the customer")


class FraudReportIn(Schema):
    channel: Literal["portal", "api"] = "portal"
    # The operator takes fraud reports at B (moderate) or C (minimal) only.
    severity: Literal["moderate", "minimal"] = "moderate"
    title: Text(200) | None = None
    description: Note | None = None


class FraudRuleOut(Schema):
    id: int | None = Field(description="the stored row; null: the built-in defaults")
    signal: str
    signal_name: str
    customer_id: int | None
    enabled: bool
    min_score: Decimal | None
    min_amount: Decimal | None
    window_days: int | None
    auto_suspend: bool
    auto_prepayment: bool


class FraudRulesOut(Schema):
    effective: list[FraudRuleOut] = Field(description="what applies to a customer without its own rule, per signal")
    rules: list[FraudRuleOut] = Field(description="the stored rows: defaults and customers' own")


class FraudRuleIn(Schema):
    customer_id: Id | None = Field(None, description="none: the default rule of the signal")
    enabled: bool | None = None
    min_score: Score | None = None
    min_amount: Amount | None = None
    window_days: Annotated[int, Field(ge=1, le=365)] | None = None
    auto_suspend: bool | None = None
    auto_prepayment: bool | None = None
    reason: Reason = ""


class FraudSettingsOut(Schema):
    team_id: int | None
    team_name: str
    new_customer_days: int
    baseline_days: int
    auto_actions: bool
    updated_at: dt.datetime


class FraudSettingsIn(Schema):
    team_id: Id | None = Field(None, description="the team that gets fraud cases (null: no team; left out: unchanged)")
    new_customer_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    baseline_days: Annotated[int, Field(ge=14, le=365)] | None = None
    auto_actions: bool | None = None
    reason: Reason = ""


class CreditLimitOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    subscription_id: int | None
    subscription_name: str
    kind: str
    kind_name: str
    amount: Decimal
    used: Decimal = Field(description="what counts against it today (CNY)")
    percent_used: Decimal | None


class CreditLimitIn(Schema):
    customer_id: Id
    kind: LimitKindName
    amount: Amount
    subscription_id: Id | None = Field(None, description="a budget for one subscription's usage")
    reason: Reason = ""


class FraudSignalFiguresOut(Schema):
    signal: str
    signal_name: str
    alerts: int
    open: int
    confirmed: int
    dismissed: int
    expected: int
    cleared: int
    precision_percent: Decimal | None = Field(description="confirmed / (confirmed + dismissed); null if none judged")
    money_at_risk: Decimal
    confirmed_money: Decimal
    acted_on: int
    median_hours_to_act: Decimal | None


class FraudReportOut(Schema):
    start: dt.date
    end: dt.date
    currency: str
    signals: list[FraudSignalFiguresOut]
    total: FraudSignalFiguresOut
