"""schemathesis hooks for the second pass of `make fuzz` (scripts/fuzz.sh).

That pass runs the operations that end sessions or accounts: log out, revoke sessions,
delete a user. With one token for the whole pass, the first revocation that worked
ended it and every later request was a 401 (schemathesis: "Authentication failed: 3
operations returned only 401/403 responses"). Here each request is sent as a user
registered for it alone, so whatever a request ends, the next one has a live session.
"""

import json
import os
import urllib.request
import uuid

import schemathesis

PASSWORD = "fuzz-ending-pass-password"


def _post(path: str, body: dict) -> dict:
    request = urllib.request.Request(
        os.environ["AGORA_FUZZ_URL"] + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        return json.load(response)


@schemathesis.auth(refresh_interval=None)  # no caching: a new user for every request
class FreshUser:
    def get(self, case, context):
        name = "fz" + uuid.uuid4().hex[:16]
        _post("/v1/users", {"username": name, "email": f"{name}@example.com", "password": PASSWORD})
        return _post("/v1/sessions", {"login": name, "password": PASSWORD})["token"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
