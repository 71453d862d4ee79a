"""Turning browser form posts into the same raw payloads the JSON API receives."""

import typing
from typing import Any

from litestar.datastructures import FormMultiDict

from app.actions.base import ActionType

_FORM_META = {"_csrf_token", "actionType"}


def _is_list_field(kind: ActionType, alias: str) -> bool:
    for name, info in kind.payload_model.model_fields.items():
        if alias in (name, info.alias):
            return typing.get_origin(info.annotation) is list
    return False


def payload_from_form(kind: ActionType, form: FormMultiDict) -> dict[str, Any]:
    """Field values by name; list fields (checkbox groups) as lists; blank fields left out (so "Required").

    A checkbox group with nothing ticked sends nothing at all: it becomes an empty list, so that the
    person hears it needs a choice instead of getting the API's default.
    """
    raw: dict[str, Any] = {}
    for key in {k for k in form if k not in _FORM_META}:
        values = [str(v) for v in form.getall(key)]
        if _is_list_field(kind, key):
            raw[key] = [v for v in values if v]
        elif values[-1].strip():
            raw[key] = values[-1]
    for name, info in kind.payload_model.model_fields.items():
        if typing.get_origin(info.annotation) is list and info.alias not in raw and name not in raw:
            raw[info.alias or name] = []
    return raw
