"""Django's model permissions, read in one query.

Every portal page asks ``has_perm`` (the navigation, ``access``): Django's
``ModelBackend`` loads a person's own permissions and their groups' in two queries
per request. This backend reads both in one, with the same result and the same
per-request cache on the user object; everything else is Django's.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Q


class OneQueryModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        # The person's language and time zone ride along (config.middleware), no query more.
        UserModel = get_user_model()
        try:
            user = UserModel._default_manager.select_related("preferences").get(pk=user_id)
        except UserModel.DoesNotExist:
            return None
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
