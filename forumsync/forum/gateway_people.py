"""The gateway's user and group calls (see ``gateway.py``)."""
from __future__ import annotations

from urllib.parse import quote

from .errors import ForumRejected


class PeopleCalls:
    """Users (looked up by exact email, cached per connection) and groups."""

    def user_by_email(self, email: str) -> dict | None:
        """The active or staged user with exactly this email (cached for this gateway)."""
        key = email.strip().lower()
        with self._cache_lock:
            if key in self._user_cache:
                return self._user_cache[key]
        users = self._get("/admin/users/list/all.json", email=key) or []
        match = next((u for u in users if (u.get("email") or "").lower() == key), None)
        if match is None and len(users) == 1 and "email" not in users[0]:
            match = users[0]
        with self._cache_lock:
            self._user_cache[key] = match
        return match

    def user_list(self, flag: str = "active", page: int = 1) -> list[dict]:
        """One page (100) of GET /admin/users/list/{flag}.json (admin key; items carry email,
        name, admin, moderator, staged)."""
        return self._get(f"/admin/users/list/{quote(flag, safe='')}.json", page=int(page),
                         show_emails="true") or []

    def user_get(self, username: str) -> dict | None:
        found = self._get_or_none(f"/u/{quote(username, safe='')}.json")
        return None if found is None else found["user"]

    def user_email_get(self, username: str) -> str | None:
        """The primary email of USERNAME (admin key); None when the user is unknown."""
        found = self._get_or_none(f"/u/{quote(username, safe='')}/emails.json")
        return None if found is None else found.get("email")

    def user_create(self, name, username, email, password, *, active=True, approved=True,
                    **extra) -> dict:
        body = self._request("POST", "/users.json", json={
            "name": name, "username": username, "email": email, "password": password,
            "active": active, "approved": approved, **extra})
        with self._cache_lock:
            self._user_cache.pop(email.strip().lower(), None)
        if isinstance(body, dict) and body.get("success") is False:
            raise ForumRejected(body.get("message") or "création de compte refusée",
                                errors=[body.get("message", "")])
        return body

    # ------------------------------------------------------------------ groups
    def group_list(self) -> list[dict]:
        return self._get("/groups.json")["groups"]

    def group_get(self, name: str) -> dict | None:
        found = self._get_or_none(f"/groups/{quote(name, safe='')}.json")
        return None if found is None else found["group"]

    def group_create(self, name: str, full_name: str = "", **fields) -> dict:
        body = self._request("POST", "/admin/groups.json",
                             json={"group": {"name": name, "full_name": full_name, **fields}})
        return body.get("basic_group", body)

    def group_update(self, group_id: int, **fields) -> dict:
        return self._request("PUT", f"/groups/{int(group_id)}.json", json={"group": fields})

    def group_members(self, name: str) -> dict:
        body = self._get(f"/groups/{quote(name, safe='')}/members.json", limit=1000)
        return {"members": body.get("members", []), "owners": body.get("owners", [])}

    def group_members_remove(self, group_id: int, usernames: list[str]):
        """GroupsController#remove_member: DELETE /groups/{id}/members.json, ``usernames``
        comma-separated (an owner loses the ownership with the membership)."""
        return self._request("DELETE", f"/groups/{int(group_id)}/members.json",
                             json={"usernames": ",".join(usernames)})

    def group_members_add(self, group_id: int, usernames: list[str], owners: bool = False):
        """GroupsController#add_members / #add_owners both read a top-level ``usernames``."""
        path = f"/groups/{int(group_id)}/owners.json" if owners else f"/groups/{int(group_id)}/members.json"
        return self._request("PUT", path, json={"usernames": ",".join(usernames)})
