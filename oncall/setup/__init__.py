"""Setting up a team for on-call from the portal and the API: teams and their admins and
members, rosters (create, archive), escalation policies and their preview."""
