"""Incidents: the record and, in subpackages, each part of the handbook that uses it.

- ``incidents`` (this package): the incident record. Teams, services and products; the
  key; the workflow, claim and severity; who holds which role (the incident manager is
  the claim's role, so roles live with it); the timeline and its typed entries (changes,
  theories, experiments, edits); ``access``, ``events`` (what other parts react to) and
  ``panels`` (what other parts add to the incident page).
- ``incidents.workspace``: the response workspace: impact assessment, the status
  document (workstreams, theory verdicts, undoing changes, editing entries), the
  deployments and changes CI/CD reports, responder fatigue and breaks.
- ``incidents.after``: after the incident: cleanup tasks and the post-incident review.
- ``incidents.support``: the support team: cases and labelling, label history, the live
  dashboard and its fragments, customer follow-up, TTD/TTR metrics and charts.
- ``incidents.demo``: ``manage.py load_demo`` across all of the above.

The one rule of direction: the subpackages import the record, the record never imports
a subpackage (as it never imports ``oncall`` or ``comms``). Each subpackage is an app in
``INSTALLED_APPS`` that wires itself in from its ``AppConfig.ready()`` (panels,
navigation, event listeners); its models keep the ``incidents`` app label, tables and
migrations, and ``config/urls.py`` puts its pages in the ``incidents`` URL namespace.
"""
