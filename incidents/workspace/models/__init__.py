"""The response workspace's records: the impact assessment, the status document's
workstreams and the deployments and changes CI/CD reports (app label ``incidents``)."""

from incidents.workspace.models.assessment import Affected, Assessment
from incidents.workspace.models.changes import ChangeToken, ServiceChange, ServiceChangeKind
from incidents.workspace.models.document import Workstream, WorkstreamState

__all__ = [
    "Affected",
    "Assessment",
    "ChangeToken",
    "ServiceChange",
    "ServiceChangeKind",
    "Workstream",
    "WorkstreamState",
]
