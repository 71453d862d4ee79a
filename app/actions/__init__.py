"""Registry of action types. To add a type, write its module and name its ACTION here."""

from app.actions import (
    close_account,
    create_account,
    create_promotion,
    create_user,
    resend_activation,
    transfer_funds,
    update_account_status,
    update_policy,
    update_promotion,
    update_user,
)
from app.actions.base import ActionType

REGISTRY: dict[str, ActionType] = {
    action.name: action
    for action in (
        create_user.ACTION,
        create_account.ACTION,
        create_promotion.ACTION,
        transfer_funds.ACTION,
        update_user.ACTION,
        resend_activation.ACTION,
        update_policy.ACTION,
        update_account_status.ACTION,
        update_promotion.ACTION,
        close_account.ACTION,
    )
}


def get_action_type(name: str) -> ActionType | None:
    return REGISTRY.get(name)
