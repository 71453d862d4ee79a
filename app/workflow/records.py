"""Whether the records a pending action would change have moved on since it was submitted.

TODO(review helper): a stub so that the bulk review's pre-check can call stale_reason now; the
"updates" helper owns this module (issue 10, items 2-4) and replaces the body with the comparison of
workflow_actions.record_version with the record's current version. At merge, keep their version.
"""

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession


async def stale_reason(session: AsyncSession, action_row: Any) -> str | None:
    """Why approving the action would act on a record changed since its submission, or None."""
    return None
