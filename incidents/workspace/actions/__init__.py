"""Every change the response workspace makes, one module per part of the handbook:
assessing the impact, the status document, service changes and breaks."""

from incidents.workspace.actions.assessment import ASSESSMENT_FIELDS, save_assessment
from incidents.workspace.actions.breaks import record_break
from incidents.workspace.actions.changes import (
    change_token_for,
    issue_change_token,
    report_service_change,
    roll_back_service_change,
    suspect_service_change,
)
from incidents.workspace.actions.document import (
    WORKSTREAM_FIELDS,
    decide_theory,
    edit_timeline_entry,
    save_workstream,
    undo_change,
)

__all__ = [
    "ASSESSMENT_FIELDS",
    "WORKSTREAM_FIELDS",
    "change_token_for",
    "decide_theory",
    "edit_timeline_entry",
    "issue_change_token",
    "record_break",
    "report_service_change",
    "roll_back_service_change",
    "save_assessment",
    "save_workstream",
    "suspect_service_change",
    "undo_change",
]
