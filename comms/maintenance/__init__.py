"""Scheduled maintenances of the public status page, Statuspage-compatible.

Planned in the portal (``views``) and the API (``api``), both through ``actions`` after
``comms.access.can_plan_maintenance``. The window's times live in the database; a beat
tick (``comms.tasks.advance_maintenances``) claims due rows and moves them scheduled →
in progress → completed, putting the products under maintenance while the window runs
(an open incident's worse status wins) and mailing subscribers at the start and the end.
``public`` serves Statuspage's ``/api/v2/scheduled-maintenances*.json``.

Not the on-call "maintenance windows" (``oncall``), which silence paging for a service.
"""
