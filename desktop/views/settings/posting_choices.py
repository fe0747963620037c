"""Settings → Posting choices: per organization, how its returns post (the settings of
:data:`~desktop.services.core.domain.POSTING_SETTINGS`: posting mode, fees withheld, closed period,
store credit, returned goods, damaged goods).

The choices are per organization (:class:`~desktop.services.admin.org_settings.PostingSettings`, the
same service ``returns-ledger settings`` uses). Each group's label, its choices' words and their
explanations come from ``POSTING_SETTINGS`` — the very words pre-flight's and the ledgers' messages
quote. One Save stores what changed (one audit entry per setting). Only admins may change them;
for anyone else the controls are disabled and say why (and the service refuses anyway). Every read
and write runs through ``run_in_background``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QButtonGroup, QComboBox, QHBoxLayout, QPushButton, QRadioButton, QVBoxLayout, QWidget

from desktop.services.admin.org_settings import OrgPostingChoice, PostingSettings
from desktop.services.auth.roles import Action
from desktop.services.core.domain import POSTING_SETTINGS, Component, PostingSetting, StoreCreditTreatment
from desktop.services.core.errors import AppError
from desktop.views.combos import refill
from desktop.views.context import ShellContext
from desktop.views.ops import run_in_background
from desktop.views.pages.base import Card, CardRow, label, status_label

__all__ = ["PostingChoicesCard"]

ERROR_COLOUR = "#e5484d"  # the Settings page's error red


class PostingChoicesCard(Card):
    """Pick an organization, see and (admins) change its posting choices."""

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
        self.layout_.addWidget(label("Posting choices", "SectionTitle"))
        self.layout_.addWidget(label(
            "How each organization's returns reach its ledger. Changes apply to returns posted from now on; "
            "what has posted stays as it is.", "CardHint", wrap=True))
        top = QHBoxLayout()
        top.setSpacing(10)
        self.org_box = QComboBox()
        self.org_box.setObjectName("PostingChoicesOrganization")
        self.org_box.setAccessibleName("Organization")
        self.org_box.setMinimumWidth(300)
        self.org_box.currentIndexChanged.connect(lambda _i: self._show_choice())
        top.addWidget(label("Organization", "FieldLabel"))
        top.addWidget(self.org_box)
        top.addStretch(1)
        self.layout_.addLayout(top)
        #: every choice's radio button; the settings' values are distinct, so one flat map serves
        self.radios: dict[StrEnum, QRadioButton] = {}
        self.groups: dict[str, QButtonGroup] = {}
        self.layout_.addWidget(CardRow([self._group(s) for s in POSTING_SETTINGS.values()], min_width=330,
                                       spacing=20))
        bar = QHBoxLayout()
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("PrimaryButton")
        self.save_button.clicked.connect(self.save)
        bar.addWidget(self.save_button)
        bar.addStretch(1)
        self.layout_.addLayout(bar)
        self.status = status_label(wrap=True)
        self.layout_.addWidget(self.status)

    def _group(self, setting: PostingSetting) -> QWidget:
        box = QWidget()
        box.setObjectName(f"PostingChoice_{setting.name}")
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 4, 0, 0)
        column.setSpacing(4)
        title = label(setting.label, "FieldLabel")
        title.setStyleSheet("font-weight: 600;")  # a group's heading, above its muted hint
        column.addWidget(title)
        if setting.hint:
            column.addWidget(label(setting.hint, "CardHint", wrap=True))
        group = QButtonGroup(self)
        self.groups[setting.name] = group
        for value, words in setting.choices.items():
            radio = QRadioButton(words)
            radio.setAccessibleName(f"{setting.label}: {words}")
            radio.setAccessibleDescription(setting.explanations[value])
            radio.toggled.connect(lambda _on: self.update_actions())
            group.addButton(radio)
            self.radios[value] = radio
            column.addWidget(radio)
            hint = label(setting.explanations[value], "CardHint", wrap=True)
            hint.setContentsMargins(26, 0, 0, 4)  # under the radio's text, not its circle
            column.addWidget(hint)
        column.addStretch(1)
        return box

    # -- state -----------------------------------------------------------------------------------------
    def chosen(self, setting: str) -> StrEnum | None:
        return next((v for v in POSTING_SETTINGS[setting].choices if self.radios[v].isChecked()), None)

    def stored(self) -> OrgPostingChoice | None:
        return self.choices.get(self.org_box.currentData() or "")

    def changes(self) -> dict[str, StrEnum]:
        """The settings whose chosen value differs from the stored one, in the page's order."""
        stored = self.stored()
        if stored is None:
            return {}
        picked = {name: self.chosen(name) for name in POSTING_SETTINGS}
        return {name: v for name, v in picked.items() if v is not None and v is not stored.value(name)}

    def why_not(self, what: str = "the posting choices") -> str | None:
        """Why this person may not change ``what`` here, or None when they may."""
        if self.service is None:
            return "This setting is not available in this window"
        if self.actor is None or not self.actor.can(Action.MANAGE_SETTINGS):
            who = "Nobody is signed in" if self.actor is None else (
                f"{self.actor.username} is {'an' if self.actor.role.value[0] in 'aeiou' else 'a'} "
                f"{self.actor.role.value}")
            return f"{who}: only an admin can change {what}"
        if self.stored() is None:
            return "Choose an organization first"
        return None

    def update_actions(self) -> None:
        for setting in POSTING_SETTINGS.values():
            reason = self.why_not(f"“{setting.label}”")
            for value in setting.choices:
                self.radios[value].setEnabled(reason is None)
                self.radios[value].setToolTip(reason or setting.explanations[value])
        reason = self.why_not()
        save_reason = reason or ("Working…" if self.busy else None) or (None if self.changes() else "Nothing changed")
        self.save_button.setEnabled(save_reason is None)
        self.save_button.setToolTip(save_reason or f"Use these choices for {self.org_box.currentData()}")
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
        self._run(lambda: service.choices(), self._show_choices, "Loading the posting choices")

    def _show_choices(self, rows: list[OrgPostingChoice]) -> None:
        self.choices = {r.code: r for r in rows}
        refill(self.org_box, [(f"{r.code} — {r.name}" if r.name != r.code else r.code, r.code) for r in rows])
        if not rows:
            self.status.setText("No organizations yet — connect one on the Connections page.")
        self._show_choice()

    def _show_choice(self) -> None:
        stored = self.stored()
        for name, group in self.groups.items():
            group.setExclusive(False)  # nothing checked while no organization is chosen
            for value in POSTING_SETTINGS[name].choices:
                self.radios[value].setChecked(stored is not None and value is stored.value(name))
            group.setExclusive(True)
        self.update_actions()

    def save(self) -> None:
        service, actor, stored, changes = self.service, self.actor, self.stored(), self.changes()
        if service is None or actor is None or stored is None or not changes:
            return
        org = stored.code
        mapping = self.context.services.mapping

        def work() -> str | None:
            service.set_many(actor, org, changes)
            if changes.get("store_credit") is StoreCreditTreatment.LIABILITY and mapping is not None:
                return mapping.missing_rule(org, Component.STORE_CREDIT)
            return None

        def done(missing: str | None) -> None:
            said = [(POSTING_SETTINGS[n].label, POSTING_SETTINGS[n].choices[v]) for n, v in changes.items()]
            text = (f"Saved: {said[0][0]} for {org} is now “{said[0][1]}”." if len(said) == 1 else
                    f"Saved for {org}: " + "; ".join(f"{what} is now “{words}”" for what, words in said) + ".")
            if missing:
                text += (f" Note: {missing}, so returns refunded as store credit will wait for a person until one "
                         "is added on the Mappings page.")
            self.status.setText(text)
            self.reload()

        self._run(work, done, "Saving the posting choices")

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
