"""Cards kept in the artifact store, next to the task that drew them.

``<flow>/runs/<run>/<step>/cards/<task>/<type>[-<id>]-<uuid>.html``, Metaflow's file name, so
the same name lists and reads them. The task's record (``TaskRecord.cards``) says which cards
it has: a task a resume reused keeps pointing at its origin run's files, as Metaflow's
``card get`` follows a resumed task to its origin.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable

from ..storage.artifacts import ArtifactStore
from ..storage.backend import safe_key
from ..storage.manifest import CardRef, TaskRecord


def card_filename(card_type: str, card_id: str | None, uuid: str) -> str:
    return f"{card_type}-{card_id}-{uuid}.html" if card_id else f"{card_type}-{uuid}.html"


def save_card(store: ArtifactStore, run_id: str, step: str, task_id: str, card_type: str,
              card_id: str | None, uuid: str, html: str, summary: str) -> CardRef:
    key = safe_key(store.flow_name, "runs", run_id, step, "cards", task_id,
                   card_filename(card_type, card_id, uuid))
    store.backend.put_bytes(key, html.encode("utf-8"))
    ref = CardRef(type=card_type, hash=uuid, key=key, id=card_id, summary=summary)
    return dataclasses.replace(ref, location=card_location(store, ref))


def card_html(store: ArtifactStore, ref: CardRef) -> str:
    return store.backend.get_bytes(ref.key).decode("utf-8")


def card_location(store: ArtifactStore, ref: CardRef) -> str:
    """A path on this machine for a local store, else the object's URL."""
    return store.backend.local_path(ref.key) or f"{store.url.rstrip('/')}/{ref.key}"


def select_cards(records: Iterable[TaskRecord], card_type: str | None = None,
                 card_id: str | None = None, card_hash: str | None = None) -> list[tuple[TaskRecord, CardRef]]:
    """The cards of ``records`` matching the filters (Metaflow's ``--type/--id/--hash``; a hash
    may be given shortened, as Metaflow prints five characters)."""
    return [(record, ref) for record in records for ref in record.cards
            if (card_type is None or ref.type == card_type)
            and (card_id is None or ref.id == card_id)
            and (card_hash is None or ref.hash.startswith(card_hash))]
