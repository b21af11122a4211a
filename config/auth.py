"""Django's model permissions, kept in the cache.

Every portal page asks ``has_perm`` (the navigation, ``access``). Django's
``ModelBackend`` reads a person's own permissions and their groups' in two queries per
request; one query (the one below) still costs a round trip and, unprepared, its
planning. So the set is kept in the cache per person, under a version that moves after
any change of who holds which permission (``watch``): one cache read per request, read
together with the version.

Where it is read, the query is compiled once per thread and prepared on PostgreSQL
(``config.statements``): a page whose cache was lost sends it along with its own reads
(``read_along``). The result and the per-request cache on the user object are
Django's. Without the cache (an outage) it is read from the database.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save

from config.cache_batch import Batch
from config.statements import Run, Statement, compile_query, compiled, fetch

logger = logging.getLogger(__name__)

VERSION_KEY = "permissions:version"
KEPT_SECONDS = 24 * 3600


def _key(user_pk: int) -> str:
    return f"permissions:{user_pk}"


def changed(**_: Any) -> None:
    """Someone's permissions may have changed: every kept set is old. A new version,
    never one used before (a time), so an entry kept under an earlier version can never
    match again, whatever the cache lost meanwhile. Moved now (this transaction reads
    its own change) and again once it commits (another reader may have kept the old
    set under the first new version meanwhile)."""

    def bump() -> None:
        try:
            cache.set(VERSION_KEY, time.time_ns(), timeout=None)
        except Exception:  # the cache is away: nothing kept is read either
            logger.warning("Could not move the permissions' version", exc_info=True)

    bump()
    transaction.on_commit(bump, robust=True)


def watch() -> None:
    """Called from ``AppConfig.ready()``: grants change through the admin, the API, data
    migrations and scripts, none of them an action of ours."""
    User = get_user_model()
    for through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
        m2m_changed.connect(changed, sender=through, dispatch_uid=f"perms-{through.__name__}")
    for model in (Group, Permission):
        post_save.connect(changed, sender=model, dispatch_uid=f"perms-save-{model.__name__}")
        post_delete.connect(changed, sender=model, dispatch_uid=f"perms-delete-{model.__name__}")
    # Data migrations grant through historical models, which send no signal above.
    post_migrate.connect(changed, dispatch_uid="perms-migrate")


# Compiled in place of a person's id (``config.statements``).
_SOMEONE = -7_654_321


def _statement(superuser: bool) -> Statement:
    def compile_() -> Statement:
        names = ("content_type__app_label", "codename")
        if superuser:
            return compile_query(Permission.objects.values_list(*names).order_by())
        # Each side from its own index, as ``ModelBackend``'s two queries read them. Not
        # ``Q(user=...) | Q(group__user=...)``: its outer joins pair every permission with
        # every member of its groups before the filter, so the read grew with the whole
        # staff (4.3 ms with 300 people in two groups, against 0.3 ms so).
        User = get_user_model()
        own = User.user_permissions.through.objects.filter(user_id=_SOMEONE)
        groups = User.groups.through.objects.filter(user_id=_SOMEONE)
        granted = Group.permissions.through.objects.filter(group_id__in=groups.values("group_id"))
        perms = Permission.objects.filter(
            Q(pk__in=own.values("permission_id")) | Q(pk__in=granted.values("permission_id"))
        )
        # The person in both subqueries.
        return compile_query(perms.values_list(*names).order_by(), sentinels=[_SOMEONE], counts=[2])

    return compiled(("permissions", superuser), compile_)


def compile_reads() -> None:
    """Compile the permissions' reads (a person's, a superuser's) ahead of the first page
    that lost them from the cache (``incidents.support.board.warm_at_start``)."""
    _statement(superuser=False)
    _statement(superuser=True)


def _permissions_run(user_obj: Any) -> Run:
    statement = _statement(user_obj.is_superuser)
    return statement, statement.params_for(*([] if user_obj.is_superuser else [user_obj.pk]))


def _perm_names(rows: Iterable[Sequence[Any]]) -> set[str]:
    return {f"{app_label}.{codename}" for app_label, codename in rows}


class PermissionsRead(NamedTuple):
    """A person's permissions to read from the database (``run``, which a page may
    send along with its own reads: ``config.statements.fetch``), and the version they
    are kept under, read or started before them (None: started by another process and
    gone again at once; the set is then not kept)."""

    user: Any
    version: int | None
    run: Run

    def keep(self, rows: Iterable[Sequence[Any]], writes: Batch) -> set[str]:
        """The permissions from ``run``'s rows, kept for this request, and in the cache
        when ``writes`` are sent."""
        perms = self.user._perm_cache = _perm_names(rows)
        if self.version is not None:
            writes.set(_key(self.user.pk), (self.version, perms), KEPT_SECONDS)
        return perms


def _reading(user_obj: Any, found: dict[str, Any]) -> PermissionsRead:
    version = found.get(VERSION_KEY)
    if version is None:
        # Started, never overwriting a version a commit has just moved (then read that).
        # Before the read: a grant committed meanwhile moves the version past it.
        start = Batch()
        start.start(VERSION_KEY, time.time_ns())
        version = start.send().get(VERSION_KEY)
    return PermissionsRead(user_obj, version, _permissions_run(user_obj))


def _current(found: dict[str, Any], user_pk: int) -> set[str] | None:
    version = found.get(VERSION_KEY)
    kept = found.get(_key(user_pk))
    return kept[1] if version is not None and kept is not None and kept[0] == version else None


def cache_keys(user_obj: Any) -> list[str]:
    """The cache keys that hold ``user_obj``'s permissions: a page that reads the cache
    anyway reads them along (``take``), one round trip instead of two."""
    if not user_obj.is_active or user_obj.is_anonymous or hasattr(user_obj, "_perm_cache"):
        return []
    return [VERSION_KEY, _key(user_obj.pk)]


def versions_to_start(user_obj: Any, found: dict[str, Any]) -> dict[str, int]:
    """The version to start, when the keys read along (``cache_keys``) hold none: a page
    starts it with its own (``config.cache_batch``) and puts what it found into
    ``found`` before ``take``, one round trip instead of two. As in ``_reading``,
    before the permissions are read."""
    if not cache_keys(user_obj) or found.get(VERSION_KEY) is not None:
        return {}
    return {VERSION_KEY: time.time_ns()}


def take(user_obj: Any, found: dict[str, Any]) -> None:
    """Keep for this request the permissions read along (``cache_keys``) when current;
    otherwise what was found, so that the first ``has_perm`` reads the database without
    asking the cache again."""
    if not (keys := cache_keys(user_obj)):
        return
    if (perms := _current(found, user_obj.pk)) is not None:
        user_obj._perm_cache = perms
    else:
        user_obj._perm_read_along = {key: found.get(key) for key in keys}


def read_along(user_obj: Any) -> PermissionsRead | None:
    """The read of ``user_obj``'s permissions when those read along (``take``) were not
    current: a page sends it with its own reads, in one round trip."""
    # Not through ``__dict__``: a request's user is a lazy object around the person.
    found = getattr(user_obj, "_perm_read_along", None)
    if found is None:
        return None
    del user_obj._perm_read_along
    return _reading(user_obj, found)


def _kept(user_obj: Any) -> set[str]:
    # Not prepared inside a transaction (an action asking ``has_perm``): a statement
    # prepared before a migration changed a column it reads can be prepared again only
    # outside one (``config.postgresql``'s ``recover_prepared``).
    prepare = not connection.in_atomic_block
    try:
        found = user_obj.__dict__.pop("_perm_read_along", None) or cache.get_many(
            [VERSION_KEY, _key(user_obj.pk)]
        )
    except Exception:  # the cache only saves work
        logger.warning("Permissions read without the cache", exc_info=True)
        return _perm_names(fetch([_permissions_run(user_obj)], prepare=prepare)[0])
    if (current := _current(found, user_obj.pk)) is not None:
        return current
    read = _reading(user_obj, found)
    writes = Batch()
    perms = read.keep(fetch([read.run], prepare=prepare)[0], writes)
    writes.send()
    return perms


class CachedPermissionsBackend(ModelBackend):
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
            user_obj._perm_cache = _kept(user_obj)
        return user_obj._perm_cache
