"""Templates' url_for works each route's path out once, and answers as route_reverse does."""

import uuid

import pytest
from litestar import Litestar, get
from litestar.exceptions import NoRouteMatchFoundException

from app.web.rendering import url_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the inferred path parameter style


@get("/actions/{action_id:uuid}", name="detail", sync_to_thread=False)
def detail(action_id: uuid.UUID) -> None: ...


@get("/pages/{number:int}", name="numbered", sync_to_thread=False)
def numbered(number: int) -> None: ...


@get("/queue", name="queue", sync_to_thread=False)
def queue() -> None: ...


class FakeRequest:
    def __init__(self, app: Litestar) -> None:
        self.app = app


@pytest.fixture
def context():
    return {"request": FakeRequest(Litestar([detail, numbered, queue]))}


def test_paths_match_route_reverse_for_every_kind_of_parameter(context):
    app = context["request"].app
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for action_id in ids:  # the pattern is worked out once, then filled for each id
        assert url_for(context, "detail", action_id=action_id) == app.route_reverse(
            "detail", action_id=action_id
        )
    assert url_for(context, "queue") == "/queue"
    assert url_for(context, "numbered", number=7) == "/pages/7"  # an int parameter takes no placeholder


def test_an_unknown_route_is_still_an_error(context):
    with pytest.raises(NoRouteMatchFoundException):
        url_for(context, "nowhere")
