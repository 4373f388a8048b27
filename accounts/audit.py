"""Write the append-only audit trail. Every app records through ``record``, and a change an
admin should see in an object's history through ``record_change``.

Details must be identifiers, codes and numbers: ``record`` refuses bytes and long numeric
vectors so that an image or an embedding can never end up in the trail by mistake.
"""

import logging
from collections.abc import Mapping
from typing import Any

from django.contrib.admin.models import CHANGE, LogEntry
from django.db import models
from django.utils import translation

from .models import AuditEntry, Device, User

log = logging.getLogger("faceauth.audit")

MAX_LIST = 16  # longer numeric lists look like embeddings


def _check_details(value: Any, path: str = "details") -> None:
    if isinstance(value, bytes | bytearray | memoryview):
        raise ValueError(f"{path}: raw bytes are not allowed in the audit trail")
    if isinstance(value, Mapping):
        for k, v in value.items():
            _check_details(v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        if len(value) > MAX_LIST and all(isinstance(v, int | float) for v in value):
            raise ValueError(f"{path}: numeric vectors are not allowed in the audit trail")
        for i, v in enumerate(value):
            _check_details(v, f"{path}[{i}]")
    elif isinstance(value, str) and len(value) > 2000:
        raise ValueError(f"{path}: long blobs are not allowed in the audit trail")


def source_text(label) -> str:
    """A label (a choice's display, a lazy text) as stored in a record: in the source
    language, whatever language the request that writes it speaks."""
    with translation.override(None):
        return str(label)


def client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    action: str,
    *,
    actor: User | Any | None = None,
    device: Device | None = None,
    request=None,
    outcome: str = "",
    target: models.Model | None = None,
    target_label: str = "",
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    details = dict(details or {})
    _check_details(details)
    if request is not None and actor is None:
        actor = getattr(request, "user", None)
    if device is None:
        device = getattr(actor, "device", None)
    person = actor if isinstance(actor, User) and actor.pk else None
    entry = AuditEntry.objects.create(
        actor=person,
        actor_label=(str(getattr(actor, "username", "")) if actor is not None else "")[:150],
        device=device,
        ip=client_ip(request),
        action=action,
        outcome=outcome,
        target_type=target._meta.label if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=(target_label or (str(target) if target is not None else ""))[:200],
        details=details,
    )
    log.info(
        "audit",
        extra={
            "action": action,
            "outcome": outcome,
            "actor": entry.actor_label,
            "target": entry.target_id,
        },
    )
    return entry


def record_change(
    *,
    action: str,
    actor: User | None,
    target: models.Model,
    message: str,
    details: Mapping[str, Any] | None = None,
    flag: int = CHANGE,
) -> AuditEntry:
    """A change made through a service: the audit trail entry, and the line in Django's admin
    history of ``target`` (who, when, what) that the admin shows next to its own edits.

    The audit trail is the record; the admin history is a convenience a superuser can edit.
    """
    entry = record(action, actor=actor, outcome="done", target=target, details=details)
    if actor is not None and actor.pk:
        LogEntry.objects.log_actions(
            user_id=actor.pk,
            queryset=[target],
            action_flag=flag,
            change_message=message,
            single_object=True,
        )
    return entry
