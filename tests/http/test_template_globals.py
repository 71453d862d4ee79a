"""Templates get the action types and statuses as Jinja globals, set where the app is assembled."""

import pytest

from app.actions import REGISTRY
from app.models import ActionStatus

pytestmark = pytest.mark.anyio


async def test_templates_still_get_the_action_types_and_statuses(client):
    globals_ = client.app.template_engine.engine.globals
    assert globals_["action_types"] is REGISTRY
    assert globals_["statuses"] == list(ActionStatus)
