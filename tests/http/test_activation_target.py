"""The checker sees the exact mailbox a create_user's activation link will go to (issue 8 item 2)."""

import pytest

from tests.factories import submit, user_payload
from tests.http.conftest import row_html

pytestmark = pytest.mark.anyio


async def test_the_checker_sees_where_the_activation_link_goes(client, login, person):
    ana, bob = await person("maker"), await person("checker")
    action = await submit(
        client, ana, "create_user", user_payload(username="target", email="Target@Example.COM")
    )
    assert (await login(bob.user.username)).status_code == 303

    detail = await client.get(f"/actions/{action['id']}")
    assert detail.status_code == 200
    assert "Activation link goes to: <strong>target@example.com</strong>" in detail.text
    row = row_html((await client.get("/queue")).text, action["id"])
    assert "target@example.com" in row
