"""Settings → Exchange rates: the rates an admin enters for an organization's foreign currencies.

Why the section exists: Xero's Accounting API publishes no exchange rates, so a Xero organization's
returns in another currency can only be posted with a rate someone enters (and a QuickBooks company
falls back to these on a day QuickBooks has none). Pre-flight holds such a return with a message
pointing here until there is one. Each rate is home-currency units per one foreign unit, valid from
its date until the next entry for that currency — exactly what
:class:`~desktop.services.admin.fx_rates.FxRateSettings` stores and ``returns-ledger fx`` edits.

Everything that reads or writes the database runs through ``run_in_background``; the GUI thread
only parses the typed rate (pure, via :func:`~desktop.services.admin.fx_rates.parse_rate`, so the
person sees the service's own words) and applies results. Rates stay ``Decimal``/decimal strings.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PySide6.QtCore import (
    QDate,
    QRegularExpression,
)
from PySide6.QtGui import QRegularExpressionValidator, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QWidget,
)

from desktop.services.admin.fx_rates import FxRateSettings, RateJumpNeedsConfirmation, parse_rate
from desktop.services.auth.roles import Action
from desktop.services.core.errors import AppError
from desktop.services.platforms.registry import platform_for
from desktop.services.queries.organizations import OrganizationDirectory
from desktop.views.combos import refill
from desktop.views.confirm import ask
from desktop.views.context import ShellContext
from desktop.views.models.selection import current_row
from desktop.views.ops import run_in_background
from desktop.views.pages.base import Card, label, plain_table, status_label
from desktop.views.settings.fx_model import OrgChoice, RateRow, RatesModel, load_organizations, rate_rows

__all__ = ["FxRatesSection"]

ERROR_COLOUR = "#e5484d"  # the Settings page's error red
# The app's QSS gives fields a fixed text colour, so a disabled field would look editable to a viewer.
DISABLED_FIELDS = ("QLineEdit:disabled, QComboBox:disabled { color: palette(dark); background: palette(window); "
                   "border-color: palette(mid); }")
EXPLANATION = (
    "Xero's API publishes no exchange rates, so a Xero organization's returns in a foreign currency are "
    "posted with the rates entered here: how many home-currency units one foreign unit buys, from a date "
    "until the next entry. QuickBooks companies use them only on a day QuickBooks has no rate. A return "
    "whose rate is missing waits in pre-flight until one is entered.")


class FxRatesSection(Card):
    """The "Exchange rates" card: pick an organization, see its rates, add or remove one (admins).

    Loads when first shown and again each time the page comes back to the front, so organizations
    connected meanwhile appear. ``rates`` and the organization directory come from the context's
    services (None of either: the section says it is unavailable).
    """

    def __init__(self, context: ShellContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.actor = context.actor
        self.rates: FxRateSettings | None = context.services.fx_rates
        self.directory: OrganizationDirectory | None = context.services.organizations
        self.orgs: dict[str, OrgChoice] = {}
        self.busy = 0  # background operations in flight
        self.confirm_box: QMessageBox | None = None
        self._build()
        self.update_actions()

    # -- construction ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.setStyleSheet(DISABLED_FIELDS)
        self.layout_.setSpacing(8)
        self.layout_.addWidget(label("Exchange rates", "SectionTitle"))
        self.layout_.addWidget(label(EXPLANATION, "CardHint", wrap=True))
        self.layout_.addSpacing(4)
        top = QHBoxLayout()
        top.setSpacing(10)
        self.org_box = QComboBox()
        self.org_box.setObjectName("FxOrganization")
        self.org_box.setAccessibleName("Organization")
        self.org_box.setMinimumWidth(280)  # with the hint beside it wrapping, the card fits a 1024-px window
        self.org_box.currentIndexChanged.connect(lambda _i: self._on_org_changed())
        self.unit_label = label("", "CardHint", wrap=True)
        top.addWidget(label("Organization", "FieldLabel"))
        top.addWidget(self.org_box)
        top.addSpacing(8)
        top.addWidget(self.unit_label, 1)
        self.layout_.addLayout(top)

        self.model = RatesModel(self)
        self.table = plain_table(self.model, (120, 140, 180), "FxRatesTable")
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self.update_actions())
        self.layout_.addWidget(self.table)

        form = QHBoxLayout()
        form.setSpacing(8)
        self.currency_box = QComboBox()
        self.currency_box.setObjectName("FxCurrency")
        self.currency_box.setAccessibleName("Currency")
        self.currency_box.setEditable(True)
        self.currency_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.currency_box.setMinimumWidth(96)
        line = self.currency_box.lineEdit()
        assert line is not None  # an editable combo box always has one
        line.setValidator(QRegularExpressionValidator(QRegularExpression("[A-Za-z]{0,3}"), self.currency_box))
        line.setPlaceholderText("AUD")
        self.from_edit = QDateEdit()
        self.from_edit.setObjectName("FxFrom")
        self.from_edit.setAccessibleName("From")
        self.from_edit.setCalendarPopup(True)
        self.from_edit.setDisplayFormat("yyyy-MM-dd")
        self.rate_edit = QLineEdit()
        self.rate_edit.setObjectName("FxRate")
        self.rate_edit.setAccessibleName("Rate")
        self.rate_edit.setPlaceholderText("e.g. 1.0925")
        self.rate_edit.setMinimumWidth(150)
        self.rate_edit.returnPressed.connect(self.add_rate)
        self.add_button = QPushButton("Add rate")
        self.add_button.setObjectName("PrimaryButton")
        self.add_button.clicked.connect(self.add_rate)
        self.remove_button = QPushButton("Remove…")
        self.remove_button.clicked.connect(self.confirm_remove)
        for text, widget in (("Currency", self.currency_box), ("From", self.from_edit), ("Rate", self.rate_edit)):
            form.addWidget(label(text, "FieldLabel"))
            form.addWidget(widget)
            form.addSpacing(6)
        form.addWidget(self.add_button)
        form.addStretch(1)
        top.addWidget(self.remove_button)  # beside the table it acts on; the form row fits 1024 px
        self.layout_.addLayout(form)
        self.status = status_label(wrap=True)
        self.layout_.addWidget(self.status)
        self._fit(0)

    def _fit(self, rows: int) -> None:
        """Every row visible (up to 8) without an inner scroll bar; the page scrolls instead."""
        visible = max(1, min(rows, 8))
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height()
                                  + visible * self.table.verticalHeader().defaultSectionSize()
                                  + 2 * self.table.frameWidth())

    # -- permissions -------------------------------------------------------------------------------
    def why_not(self) -> str | None:
        """Why this person may not change rates here, or None when they may."""
        if self.rates is None:
            return "Exchange rates are not available in this window"
        if self.actor is None:
            return "Nobody is signed in: only an admin can enter exchange rates"
        if not self.actor.can(Action.MANAGE_SETTINGS):
            role = self.actor.role.value
            return f"{self.actor.username} is {'an' if role[0] in 'aeiou' else 'a'} {role}: only an admin can " \
                   "enter exchange rates"
        if not self.org_box.currentData():
            return "Choose an organization first"
        return None

    def update_actions(self) -> None:
        """Enable the form for admins with an organization; disabled controls say why in their tooltip."""
        reason = self.why_not()
        # While a load or save runs only the buttons wait: the fields keep their focus and text.
        waiting = "Working…" if self.busy else None
        for widget, tip, wait in ((self.currency_box, "The foreign currency (ISO 4217 code)", None),
                                  (self.from_edit, "The first day the rate applies", None),
                                  (self.rate_edit, "Home-currency units one foreign unit buys", None),
                                  (self.add_button, "Use this rate from the chosen day on (Enter)", waiting)):
            why = reason or wait
            widget.setEnabled(why is None)
            widget.setToolTip(why or tip)
        selected = self.selected_rate()
        remove_reason = reason or waiting or (None if selected else "Select a rate first")
        self.remove_button.setEnabled(remove_reason is None)
        self.remove_button.setToolTip(remove_reason or "Forget the selected rate")
        self.org_box.setEnabled(self.rates is not None and self.org_box.count() > 0)

    def selected_rate(self) -> RateRow | None:
        row = current_row(self.table)
        return None if row is None else self.model.row_at(row)

    # -- loading -----------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        """Reload when the page comes (back) to the front; a window restored from the taskbar does not."""
        super().showEvent(event)
        if not event.spontaneous():
            self.reload_organizations()

    def reload_organizations(self) -> None:
        directory = self.directory
        if self.rates is None or directory is None:
            self.status.setText("Exchange rates are not available in this window.")
            return
        self._run(lambda: load_organizations(directory), self._show_organizations, "Loading organizations")

    def _show_organizations(self, orgs: list[OrgChoice]) -> None:
        current = self.org_box.currentData()
        unchanged = [o.code for o in orgs] == list(self.orgs) and current in self.orgs
        self.orgs = {o.code: o for o in orgs}
        if unchanged:  # back to the front: keep what the person was typing, refresh the rates
            self.reload_rates()
            return
        # First choice: an organization whose ledger publishes no rates, where entered rates matter most.
        unpublished = next((o.code for o in orgs if not platform_for(o.platform).publishes_rates), None)
        refill(self.org_box, [(o.text, o.code) for o in orgs], keep=current if current in self.orgs else unpublished)
        self._on_org_changed()
        if not orgs:
            self.status.setText("No organizations yet — connect one on the Connections page.")

    def _on_org_changed(self) -> None:
        org = self.orgs.get(self.org_box.currentData() or "")
        reason = self.why_not()
        self.status.setText(f"{reason}." if reason and org and self.actor is not None else "")
        self.unit_label.setText(f"Rates are {org.home_currency} per 1 unit of the foreign currency." if org else "")
        self.currency_box.clear()
        if org is not None:
            self.currency_box.addItems(list(org.currencies))
            self.from_edit.setDate(self._today(org))
        self.currency_box.setCurrentIndex(0 if self.currency_box.count() else -1)
        self.reload_rates()

    def _today(self, org: OrgChoice) -> QDate:
        """Today in the organization's own time zone (its ledger dates are local), by the injected clock."""
        clock = self.context.services.clock
        try:
            day = clock.now().astimezone(ZoneInfo(org.timezone)).date()
        except (ZoneInfoNotFoundError, ValueError):
            day = clock.now().date()
        return QDate(day.year, day.month, day.day)

    def reload_rates(self) -> None:
        org, rates = self.org_box.currentData(), self.rates
        if not org or rates is None:
            self.model.set_rows([], "")
            self._fit(0)
            self.update_actions()
            return
        home = self.orgs[org].home_currency

        def shown(rows: list[RateRow]) -> None:
            if self.org_box.currentData() != org:
                return  # the person picked another organization meanwhile
            self.model.set_rows(rows, home)
            self._fit(len(rows))
            if not rows and not self.status.text():
                self.status.setText(f"No rates entered for {org} yet.")
            self.update_actions()

        self._run(lambda: rate_rows(rates.table(org)), shown, "Loading exchange rates")

    # -- changes -----------------------------------------------------------------------------------
    def add_rate(self) -> None:
        """Check the typed rate here (the service's own reason when it is wrong), then save it off-thread."""
        org, rates, actor = self.org_box.currentData(), self.rates, self.actor
        if self.why_not() is not None or self.busy or rates is None or actor is None or not org:
            return
        currency = self.currency_box.currentText().strip().upper()
        qd = self.from_edit.date()
        day = date(qd.year(), qd.month(), qd.day())
        if len(currency) != 3:
            self._error("Type the three-letter ISO 4217 code of the foreign currency, e.g. AUD.")
            return
        try:
            rate: Decimal = parse_rate(self.rate_edit.text())
        except AppError as exc:
            self._error(exc.user_message())
            return
        replaced = any(r.currency == currency and r.start == day for r in self.model.rows())

        def saved(_none: None) -> None:
            home = self.orgs[org].home_currency if org in self.orgs else ""
            verb = "Replaced" if replaced else "Saved"
            self.status.setText(f"{verb}: from {day.isoformat()}, 1 {currency} = {format(rate, 'f')} {home}.")
            self.rate_edit.clear()
            self.reload_rates()

        def save(confirm: bool = False) -> None:
            self._run(lambda: rates.set(actor, org, currency, day, rate, confirm=confirm), saved,
                      "Saving the exchange rate", on_jump=lambda exc: self._confirm_jump(exc, lambda: save(True)))

        save()

    def _confirm_jump(self, exc: RateJumpNeedsConfirmation, again: Any) -> None:
        """A rate far from the one in force: ask before saving it (a slipped decimal point is common)."""
        self.confirm_box = ask(self, QMessageBox.Icon.Warning, "Check the exchange rate",
                               f"{exc.message}. Is that right?", "Save this rate", again,
                               role=QMessageBox.ButtonRole.AcceptRole,
                               on_no=lambda: self._error(f"Not saved: {exc.message}."))

    def confirm_remove(self) -> None:
        row = self.selected_rate()
        org = self.org_box.currentData()
        if row is None or not org or self.why_not() is not None:
            return
        self.confirm_box = ask(
            self, QMessageBox.Icon.Question, "Remove exchange rate",
            f"Remove {org}'s {row.currency} rate {row.rate} from {row.start.isoformat()}? Returns on "
            "those days then use the previous rate, or wait in pre-flight if there is none.", "Remove",
            lambda: self.remove_rate(row))

    def remove_rate(self, row: RateRow) -> None:
        org, rates, actor = self.org_box.currentData(), self.rates, self.actor
        if rates is None or actor is None or not org:
            return

        def removed(gone: bool) -> None:
            self.status.setText(f"Removed the {row.currency} rate from {row.start.isoformat()}." if gone else
                                f"There was no {row.currency} rate from {row.start.isoformat()} any more.")
            self.reload_rates()

        self._run(lambda: rates.remove(actor, org, row.currency, row.start), removed, "Removing the exchange rate")

    # -- shared ------------------------------------------------------------------------------------
    def _run(self, work: Any, done: Any, what: str, on_jump: Any = None) -> None:
        """Run ``work()`` on a worker; ``done(result)`` or an inline error on the GUI thread (or
        ``on_jump(exc)`` when the service asks to confirm a rate far from the one in force)."""
        self.busy += 1
        self.update_actions()

        def finish(result: Any) -> None:
            self.busy -= 1
            done(result)
            self.update_actions()

        def fail(exc: BaseException) -> None:
            self.busy -= 1
            if on_jump is not None and isinstance(exc, RateJumpNeedsConfirmation):
                self.update_actions()
                on_jump(exc)
                return
            self._error(exc.user_message() if isinstance(exc, AppError) else f"Something went wrong: {exc}")
            self.update_actions()

        run_in_background(self, lambda _p: work(), on_success=finish, on_failure=fail, label=what)

    def _error(self, text: str) -> None:
        self.status.setText(f"<span style='color:{ERROR_COLOUR}'>{_escape(text)}</span>")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


