"""Settings → Closed period: what happens to a document dated in a period the ledger has closed.

The choice is per organization (:class:`~desktop.services.admin.org_settings.PostingSettings`, the
same service ``returns-ledger settings`` uses). The control's label and its choices' words are
:data:`~desktop.services.core.domain.CLOSED_PERIOD_LABEL` and ``CLOSED_PERIOD_CHOICES``, the very
words pre-flight's and QuickBooks' "period closed" messages quote. Only admins may change it; for
anyone else the controls are disabled and say why (and the service refuses anyway). Every read and
write runs through ``run_in_background``.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QButtonGroup, QComboBox, QHBoxLayout, QPushButton, QRadioButton, QWidget

from desktop.services.admin.org_settings import OrgPostingChoice, PostingSettings
from desktop.services.auth.roles import Action
from desktop.services.core.domain import CLOSED_PERIOD_CHOICES, CLOSED_PERIOD_LABEL, ClosedPeriodPolicy
from desktop.services.core.errors import AppError
from desktop.views.combos import refill
from desktop.views.context import ShellContext
from desktop.views.ops import run_in_background
from desktop.views.pages.base import Card, label, status_label

__all__ = ["ClosedPeriodCard"]

ERROR_COLOUR = "#e5484d"  # the Settings page's error red
EXPLANATIONS = {
    ClosedPeriodPolicy.QUARANTINE:
        "The return waits with a “needs a person” message until an accountant reopens the period in the ledger "
        "(then it is retried), or someone changes this setting. Nothing lands in a period that was closed on "
        "purpose.",
    ClosedPeriodPolicy.FIRST_OPEN_DAY:
        "The documents are dated on the first day after the closed period and posted without waiting; their "
        "note says they were re-dated and from which day. The refund then counts in the open period.",
}


class ClosedPeriodCard(Card):
    """Pick an organization, see and (admins) change its closed-period choice."""

    def __init__(self, context: ShellContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.actor = context.actor
        self.service: PostingSettings | None = context.services.posting_settings
        self.choices: dict[str, OrgPostingChoice] = {}
        self.busy = 0
        self._build()
        self.update_actions()

    def _build(self) -> None:
        self.layout_.setSpacing(8)
        self.layout_.addWidget(label("Posting into a closed period", "SectionTitle"))
        self.layout_.addWidget(label(
            "When a return's date falls in a period the ledger has closed (month-end is done), the ledger refuses "
            "the document. Choose, per organization, what this app does then.", "CardHint", wrap=True))
        top = QHBoxLayout()
        top.setSpacing(10)
        self.org_box = QComboBox()
        self.org_box.setObjectName("ClosedPeriodOrganization")
        self.org_box.setAccessibleName("Organization")
        self.org_box.setMinimumWidth(300)
        self.org_box.currentIndexChanged.connect(lambda _i: self._show_choice())
        top.addWidget(label("Organization", "FieldLabel"))
        top.addWidget(self.org_box)
        top.addStretch(1)
        self.layout_.addLayout(top)
        self.layout_.addWidget(label(CLOSED_PERIOD_LABEL, "FieldLabel"))
        self.group = QButtonGroup(self)
        self.radios: dict[ClosedPeriodPolicy, QRadioButton] = {}
        for policy in (ClosedPeriodPolicy.QUARANTINE, ClosedPeriodPolicy.FIRST_OPEN_DAY):
            radio = QRadioButton(CLOSED_PERIOD_CHOICES[policy])
            radio.setAccessibleName(f"{CLOSED_PERIOD_LABEL}: {CLOSED_PERIOD_CHOICES[policy]}")
            radio.setAccessibleDescription(EXPLANATIONS[policy])
            radio.toggled.connect(lambda _on: self.update_actions())
            self.group.addButton(radio)
            self.radios[policy] = radio
            self.layout_.addWidget(radio)
            hint = label(EXPLANATIONS[policy], "CardHint", wrap=True)
            hint.setContentsMargins(26, 0, 0, 4)  # under the radio's text, not its circle
            self.layout_.addWidget(hint)
        bar = QHBoxLayout()
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("PrimaryButton")
        self.save_button.clicked.connect(self.save)
        bar.addWidget(self.save_button)
        bar.addStretch(1)
        self.layout_.addLayout(bar)
        self.status = status_label(wrap=True)
        self.layout_.addWidget(self.status)

    # -- state -----------------------------------------------------------------------------------------
    def chosen(self) -> ClosedPeriodPolicy | None:
        return next((p for p, r in self.radios.items() if r.isChecked()), None)

    def stored(self) -> OrgPostingChoice | None:
        return self.choices.get(self.org_box.currentData() or "")

    def why_not(self) -> str | None:
        """Why this person may not change the choice here, or None when they may."""
        if self.service is None:
            return "This setting is not available in this window"
        if self.actor is None or not self.actor.can(Action.MANAGE_SETTINGS):
            who = "Nobody is signed in" if self.actor is None else (
                f"{self.actor.username} is {'an' if self.actor.role.value[0] in 'aeiou' else 'a'} "
                f"{self.actor.role.value}")
            return f"{who}: only an admin can change “{CLOSED_PERIOD_LABEL}”"
        if self.stored() is None:
            return "Choose an organization first"
        return None

    def update_actions(self) -> None:
        reason = self.why_not()
        for policy, radio in self.radios.items():
            radio.setEnabled(reason is None)
            radio.setToolTip(reason or EXPLANATIONS[policy])
        stored, chosen = self.stored(), self.chosen()
        unchanged = stored is None or chosen is None or chosen is stored.closed_period
        save_reason = reason or ("Working…" if self.busy else None) or ("Nothing changed" if unchanged else None)
        self.save_button.setEnabled(save_reason is None)
        self.save_button.setToolTip(save_reason or f"Use this choice for {self.org_box.currentData()}")
        self.org_box.setEnabled(self.org_box.count() > 0)

    # -- loading and saving ------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        """Read again when the page comes (back) to the front: a choice made with the CLI shows."""
        super().showEvent(event)
        if not event.spontaneous():
            self.reload()

    def reload(self) -> None:
        service = self.service
        if service is None:
            self.status.setText("This setting is not available in this window.")
            return
        self._run(lambda: service.choices(), self._show_choices, "Loading the closed-period choices")

    def _show_choices(self, rows: list[OrgPostingChoice]) -> None:
        self.choices = {r.code: r for r in rows}
        refill(self.org_box, [(f"{r.code} — {r.name}" if r.name != r.code else r.code, r.code) for r in rows])
        if not rows:
            self.status.setText("No organizations yet — connect one on the Connections page.")
        self._show_choice()

    def _show_choice(self) -> None:
        stored = self.stored()
        self.group.setExclusive(False)  # nothing checked while no organization is chosen
        for policy, radio in self.radios.items():
            radio.setChecked(stored is not None and policy is stored.closed_period)
        self.group.setExclusive(True)
        self.update_actions()

    def save(self) -> None:
        service, actor, stored, chosen = self.service, self.actor, self.stored(), self.chosen()
        if service is None or actor is None or stored is None or chosen is None:
            return
        org = stored.code

        def done(_previous: object) -> None:
            self.status.setText(f"Saved: {CLOSED_PERIOD_LABEL} for {org} is now “{CLOSED_PERIOD_CHOICES[chosen]}”.")
            self.reload()

        self._run(lambda: service.set_closed_period(actor, org, chosen), done, "Saving the closed-period choice")

    def _run(self, work: Any, on_success: Any, what: str) -> None:
        self.busy += 1
        self.update_actions()

        def finish() -> None:
            self.busy -= 1
            self.update_actions()

        def ok(result: Any) -> None:
            finish()
            on_success(result)

        def failed(exc: BaseException) -> None:
            finish()
            text = exc.user_message() if isinstance(exc, AppError) else f"Something went wrong: {exc}"
            self.status.setText(f"<span style='color:{ERROR_COLOUR}'>{text}</span>")

        run_in_background(self, lambda _p: work(), on_success=ok, on_failure=failed, label=what)
