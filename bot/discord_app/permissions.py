"""Who may run admin commands: a pure decision, tested without Discord."""

from __future__ import annotations

from collections.abc import Iterable

from bot.shared.settings import Settings


def may_reindex(
    user_id: int, role_ids: Iterable[int], has_manage_guild: bool, settings: Settings
) -> bool:
    """Members with Manage Server may run the admin commands (/reindex, /docs add|remove,
    /insights), and so may the users and roles on the
    ``ASKDOCS_ADMIN_USER_IDS`` / ``ASKDOCS_ADMIN_ROLE_IDS`` allowlists."""
    if has_manage_guild or user_id in settings.admin_user_ids:
        return True
    allowed_roles = set(settings.admin_role_ids)
    return any(role_id in allowed_roles for role_id in role_ids)
