"""Django's model permissions, read with the person.

Every portal page asks ``has_perm`` (the navigation, ``access``): Django's
``ModelBackend`` loads a person's own permissions and their groups' in two queries
per request. This backend reads them in the query that loads the signed-in person
(and their preferences) from the session, as one joined string: no query more. The
result and the per-request cache on the user object are Django's; everything else
is Django's too.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import CharField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Concat

SEPARATOR = " "  # never in an app label or a codename


class _Joined(Subquery):
    """The subquery's one column, its rows joined into one string (NULL for none)."""

    template = "(SELECT string_agg(permission, ' ') FROM (%(subquery)s) AS granted)"
    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "(SELECT group_concat(permission, ' ') FROM (%(subquery)s) AS granted)"
        return self.as_sql(compiler, connection, **{**extra, "template": template})


@functools.cache
def _permission_names() -> _Joined:
    # Built once: building it took as long as the query (each use resolves a copy).
    granted = Q(user=OuterRef("pk")) | Q(group__user=OuterRef("pk"))
    names = (
        Permission.objects.filter(granted)
        .order_by()
        .values(permission=Concat("content_type__app_label", Value("."), "codename"))
    )
    return _Joined(names)


class OneQueryModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        # The person's language and time zone ride along (config.middleware), and
        # their permissions.
        UserModel = get_user_model()
        try:
            user = (
                UserModel._default_manager.select_related("preferences")
                .annotate(permission_names=_permission_names())
                .get(pk=user_id)
            )
        except UserModel.DoesNotExist:
            return None
        if not user.is_superuser:
            # Django's own per-request cache attribute (``ModelBackend``).
            names = (user.permission_names or "").split(SEPARATOR)
            user._perm_cache = set(filter(None, names))  # type: ignore[attr-defined]
        return user if self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                perms = Permission.objects.all()
            else:
                perms = Permission.objects.filter(Q(user=user_obj) | Q(group__user=user_obj))
            user_obj._perm_cache = {
                f"{app_label}.{codename}"
                for app_label, codename in perms.values_list(
                    "content_type__app_label", "codename"
                ).order_by()
            }
        return user_obj._perm_cache
