"""One user never sees, resumes or cancels another's session: 404, not 403."""

from __future__ import annotations

import httpx2

from sagents.testing import Turn
from tests.app.conftest import StartServer, chat

KEYS = {"key-alice": "alice", "key-bob": "bob"}


async def test_user_b_gets_404_for_everything_of_user_a(start_server: StartServer) -> None:
    url = start_server([Turn(text="hello alice")], api_keys=KEYS)
    alice = httpx2.AsyncClient(
        base_url=url, timeout=10, headers={"Authorization": "Bearer key-alice"}
    )
    bob = httpx2.AsyncClient(base_url=url, timeout=10, headers={"Authorization": "Bearer key-bob"})
    async with alice, bob:
        events = await chat(alice, message="hi")
        sid, rid = events[0].session_id, events[0].run_id
        assert (await alice.get(f"/api/v1/sessions/{sid}")).status_code == 200

        for method, path in [
            ("GET", f"/api/v1/sessions/{sid}"),
            ("GET", f"/api/v1/sessions/{sid}/messages"),
            ("GET", f"/api/v1/sessions/{sid}/runs/{rid}/events"),
            ("POST", f"/api/v1/sessions/{sid}/cancel"),
            ("DELETE", f"/api/v1/sessions/{sid}"),
        ]:
            response = await bob.request(method, path)
            assert response.status_code == 404, (method, path)
            assert response.json()["error"]["type"] == "not_found"
        resumed = await bob.post("/api/v1/chat", json={"message": "mine now", "session_id": sid})
        assert resumed.status_code == 404
        assert (await bob.get("/api/v1/sessions")).json()["total"] == 0
        # Alice's session is untouched by Bob's attempts.
        assert (await alice.get(f"/api/v1/sessions/{sid}/messages")).status_code == 200
        assert (await alice.delete(f"/api/v1/sessions/{sid}")).status_code == 204
        assert (await alice.get(f"/api/v1/sessions/{sid}")).status_code == 404


async def test_missing_or_wrong_key_is_401(start_server: StartServer) -> None:
    url = start_server(api_keys=KEYS)
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        for headers in [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic a2V5"}]:
            response = await http.get("/api/v1/sessions", headers=headers)
            assert response.status_code == 401
            assert response.json()["error"]["type"] == "unauthorized"
