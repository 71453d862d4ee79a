"""The API answers with plain dicts (app.workflow.schemas.action_json) in ActionOut's documented JSON."""

import json
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import msgspec
from litestar.serialization import encode_json

from app.workflow.schemas import ActionOut, action_json


def _row(**changes):
    values = {
        "id": uuid.uuid4(),
        "action_type": "create_promotion",
        "status": "approved",
        "payload": {"code": "X-1", "nested": {"n": 1.5, "list": [1, "é"]}},
        "summary": "Promotion X-1",
        "maker_id": uuid.uuid4(),
        "checker_id": uuid.uuid4(),
        "review_comment": "fine",
        "reviewed_at": datetime(2027, 3, 1, 9, 30, 0, 120, tzinfo=UTC),
        "created_at": datetime(2027, 3, 1, 9, 0, tzinfo=UTC),
        "updated_at": datetime(2027, 3, 1, 9, 30, 5, tzinfo=UTC),
        "required_approvals": 1,
        "approvals": 1,
        "policy_version": 0,
        "version": 1,
        "expires_at": None,
        "execution_result": {"promotionId": str(uuid.uuid4()), "code": "X-1"},
        "error": None,
    }
    return SimpleNamespace(**(values | changes))


def test_action_json_has_every_documented_field_in_order():
    assert list(action_json(_row())) == list(ActionOut.model_fields)


def test_action_json_encodes_as_the_documented_model_does():
    for row in (_row(), _row(checker_id=None, reviewed_at=None, execution_result=None, review_comment=None)):
        plain = msgspec.json.decode(encode_json(action_json(row)))
        documented = json.loads(ActionOut.of(row).model_dump_json())
        assert plain == documented
