"""Stores pydantic events: `model_dump(mode="json")` in, `model_validate` out.

The library's own mapper reads `vars(event)`, which pydantic models do not fill
the way dataclasses do; this mapper asks pydantic instead. It keeps the library's
upcasting protocol (`class_version` plus `upcast_vN_vN+1`), so an event class can
grow a field later and old rows still load.
"""

from __future__ import annotations

import json
from typing import Any, cast

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent, Transcoder
from eventsourcing.utils import get_topic, resolve_topic
from pydantic import BaseModel


class JSONTranscoder(Transcoder):
    """Plain JSON: pydantic already turned dates, UUIDs and tuples into JSON values."""

    def encode(self, obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def decode(self, data: bytes) -> Any:
        return json.loads(data)


class PydanticMapper(Mapper[Any]):
    def to_stored_event(self, domain_event: DomainEventProtocol[Any]) -> StoredEvent:
        model = cast(BaseModel, domain_event)
        state = model.model_dump(mode="json", exclude={"originator_id", "originator_version"})
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        stored = self.transcoder.encode(state)
        if self.compressor:
            stored = self.compressor.compress(stored)
        if self.cipher:
            stored = self.cipher.encrypt(stored)
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=get_topic(type(domain_event)),
            state=stored,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[Any]:
        try:
            data = stored_event.state
            if self.cipher:
                data = self.cipher.decrypt(data)
            if self.compressor:
                data = self.compressor.decompress(data)
            state: dict[str, Any] = self.transcoder.decode(data)
            cls = resolve_topic(stored_event.topic)
            from_version = state.pop("class_version", 1)
            while from_version < getattr(cls, "class_version", 1):
                getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
                from_version += 1
            return cast(
                DomainEventProtocol[Any],
                cls.model_validate(
                    {
                        **state,
                        "originator_id": stored_event.originator_id,
                        "originator_version": stored_event.originator_version,
                    }
                ),
            )
        except Exception as e:
            # One exception type for "this row cannot be read", whatever broke it.
            msg = (
                f"cannot read stored event {stored_event.originator_version} "
                f"of {stored_event.originator_id} ({stored_event.topic}): {e}"
            )
            raise MapperDeserialisationError(msg) from e
