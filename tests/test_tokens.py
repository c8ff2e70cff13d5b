"""Reading tokens: verified once per process, but expiry is checked on every use."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from dispatch.accounts.tokens import issue_token, read_token
from dispatch.core.errors import Unauthorized
from dispatch.models import User

KEY = "token-test-key-" + "t" * 40
# In the past: PyJWT refuses a token issued in the future (`iat`), whatever `now` says.
ISSUED = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)


def _token(key: str = KEY, ttl_s: int = 600) -> str:
    user = User(id=uuid.uuid4(), username="ani", role="operator", agency_code=None)
    return issue_token(user, secret_key=key, ttl_s=ttl_s, now=ISSUED)


def test_a_verified_token_still_expires() -> None:
    token = _token()
    issued = ISSUED.timestamp()
    assert read_token(token, secret_key=KEY, now=issued + 10).username == "ani"
    assert read_token(token, secret_key=KEY, now=issued + 599).role == "operator"
    with pytest.raises(Unauthorized, match="expired"):
        read_token(token, secret_key=KEY, now=issued + 600)
    with pytest.raises(Unauthorized, match="expired"):  # and it stays expired
        read_token(token, secret_key=KEY, now=issued + 601)


def test_a_token_is_valid_only_under_its_own_key_and_unaltered() -> None:
    token = _token()
    now = ISSUED.timestamp() + 1
    assert read_token(token, secret_key=KEY, now=now).username == "ani"
    with pytest.raises(Unauthorized, match="not valid"):
        read_token(token, secret_key="another-key-" + "k" * 40, now=now)
    header, claims, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    promoted = base64.urlsafe_b64encode(
        json.dumps({**decoded, "role": "admin"}).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthorized, match="not valid"):  # same signature, other claims
        read_token(f"{header}.{promoted}.{signature}", secret_key=KEY, now=now)
    assert read_token(token, secret_key=KEY, now=now).username == "ani"
