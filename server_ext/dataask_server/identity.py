"""Who is calling: jupyter_server's ``current_user`` as a DataAsk :class:`Principal`.

* Under JupyterHub (or any identity provider that names users) the principal is
  ``current_user.username``: the Hub user, not the server owner (SECURITY 28). Groups
  come from the Hub user model when present.
* With jupyter_server's own token/password identity provider the token does not name a
  person (each browser gets a random "Anonymous ..." user), and whoever holds it is the
  server's owner: the principal is the owner (``DATAASK_OWNER``, else the OS user), a
  superuser (admin of every workspace) in personal mode.
* Otherwise the owner is ``DATAASK_OWNER`` or ``JUPYTERHUB_USER`` and is superuser in
  personal mode only. ``DATAASK_ADMINS`` (comma-separated) lists site admins in any mode.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from jupyter_server.auth.identity import IdentityProvider, PasswordIdentityProvider

from dataask_jupyter.dashboards import Principal

_SINGLE_USER_PROVIDERS = (IdentityProvider, PasswordIdentityProvider)


@dataclass(frozen=True)
class OwnerPolicy:
    single_user: bool
    owner: str | None
    local_name: str
    team: bool = False
    site_admins: frozenset[str] = frozenset()

    @classmethod
    def from_server(cls, serverapp, settings) -> OwnerPolicy:
        provider = getattr(serverapp, "identity_provider", None)
        admins = frozenset(a.strip() for a in os.environ.get("DATAASK_ADMINS", "").split(",") if a.strip())
        return cls(
            single_user=type(provider) in _SINGLE_USER_PROVIDERS,
            owner=os.environ.get("DATAASK_OWNER") or os.environ.get("JUPYTERHUB_USER") or None,
            local_name=os.environ.get("DATAASK_OWNER") or settings.actor,
            team=settings.team,
            site_admins=admins,
        )

    def principal(self, user) -> Principal:
        """The :class:`Principal` for jupyter_server's ``current_user``."""
        if self.single_user:
            return Principal(self.local_name, superuser=not self.team or self.local_name in self.site_admins)
        name = getattr(user, "username", None) or str(user)
        hub = getattr(user, "hub_user", None) or {}
        groups = getattr(user, "groups", None) or (hub.get("groups") if isinstance(hub, dict) else None) or ()
        superuser = name in self.site_admins or (not self.team and self.owner is not None and name == self.owner)
        return Principal(name, frozenset(str(g) for g in groups), superuser)
