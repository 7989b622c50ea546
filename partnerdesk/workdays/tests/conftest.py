import json

import pytest


@pytest.fixture
def put(client):
    """PUT JSON to /api/v1 as a token's user (the shared api_client has no PUT)."""

    def _put(path, data, token):
        return client.put("/api/v1" + path, json.dumps(data), content_type="application/json",
                          headers={"Authorization": f"Bearer {token}"})

    return _put
