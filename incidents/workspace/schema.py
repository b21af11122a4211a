"""OpenAPI description of the CI/CD change token, for drf-spectacular."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ChangeTokenScheme(OpenApiAuthenticationExtension):
    target_class = "incidents.workspace.api.ChangeTokenAuthentication"
    name = "changeToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A service's change token (manage.py issue_change_token <service>).",
        }
