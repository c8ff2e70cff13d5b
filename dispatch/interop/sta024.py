"""NENA-STA-024 subscribe/notify for EIDOs: the messages (as NENA's `websocket.yaml`
defines them: one envelope key per message) and the subscriptions of record.

- `subscribe` {requestId, requestType "EIDO", requestSubType "new" | "single",
  incidentId (single), minRate, expires, subscriptionId (to resume one)} →
  `subscribeResponse` {requestId, subscriptionId, minRate, expires, statusCode,
  statusText}. "new": every change of every incident the account may see (its creation
  included); "single": every change of one incident, whose current EIDO comes at once.
- `event` {subscriptionId, transactionId, notification: [EIDO]}; an empty notification
  list is the heartbeat, sent when nothing was sent for `minRate` seconds.
- `eventResponse` {transactionId, statusCode, statusText}: the acknowledgement.
- `unsubscribe` → `unsubscribeResponse`; `terminate` from the notifier when the
  subscription expires or the token is revoked or expires.

Delivery survives a dropped socket: each subscription's `last_seq` (how far through the
event log it was served) and its unacknowledged notifications are in PostgreSQL. A
subscriber that reconnects and subscribes with its `subscriptionId` gets the
unacknowledged notifications again (same transactionId, the incident's EIDO as it is now),
then every change it missed, from the event log. Delivery is at least once: a process
that dies between sending and recording `last_seq` sends some notifications twice.

Negotiation: minRate within [MIN_RATE_S, MAX_RATE_S] (default DEFAULT_MIN_RATE_S);
expires within [1 s, MAX_EXPIRES_S] (default DEFAULT_EXPIRES_S) and never past the
token's own expiry."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.interop.models import EidoPendingEvent, EidoSubscription

MIN_RATE_S = 1
MAX_RATE_S = 3600
DEFAULT_MIN_RATE_S = 60
MAX_EXPIRES_S = 24 * 3600
DEFAULT_EXPIRES_S = 3600
SUB_TYPES = ("new", "single")

OK = 200
BAD_REQUEST = 400
FORBIDDEN = 403
NOT_FOUND = 404
NOT_ACCEPTABLE = 406
NO_SUBSCRIPTION = 481
NOT_IMPLEMENTED = 501

STATUS_TEXT = {OK: "OK", BAD_REQUEST: "Bad request", FORBIDDEN: "Forbidden",
               NOT_FOUND: "Incident not found", NOT_ACCEPTABLE: "Not acceptable",
               NO_SUBSCRIPTION: "Subscription does not exist",
               NOT_IMPLEMENTED: "Not implemented"}


class ProtocolError(Exception):
    """A request the notifier refuses, answered with `status` (and never a crash)."""

    def __init__(self, status: int, detail: str, request_id: str = "") -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.request_id = request_id


@dataclass(frozen=True)
class Subscribe:
    request_id: str
    sub_type: str
    incident_id: uuid.UUID | None
    min_rate_s: int | None
    expires_s: int | None
    subscription_id: uuid.UUID | None


def _string(body: dict[str, Any], key: str, request_id: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise ProtocolError(BAD_REQUEST, f"{key} must be a string", request_id)
    return value


def _positive(body: dict[str, Any], key: str, request_id: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ProtocolError(BAD_REQUEST, f"{key} must be a positive integer", request_id)
    return value


def _uuid(text: str | None, key: str, status: int, request_id: str) -> uuid.UUID | None:
    if text is None:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ProtocolError(status, f"{key} {text[:60]!r} is not known", request_id) from None


def parse(text: str) -> tuple[str, dict[str, Any]]:
    """A message's envelope key and body (ProtocolError 400 when it has none)."""
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ProtocolError(BAD_REQUEST, "messages are JSON objects") from None
    if not isinstance(message, dict) or len(message) != 1:
        raise ProtocolError(BAD_REQUEST, "a message is an object with one key")
    [(kind, body)] = message.items()
    if not isinstance(body, dict):
        raise ProtocolError(BAD_REQUEST, f"{kind} must be an object")
    request_id = body.get("requestId")
    if kind in ("subscribe", "unsubscribe") and not isinstance(request_id, str):
        raise ProtocolError(BAD_REQUEST, "requestId (a string) is required")
    return kind, body


def parse_subscribe(body: dict[str, Any]) -> Subscribe:
    request_id = str(body["requestId"])
    subscription = _uuid(_string(body, "subscriptionId", request_id), "subscriptionId",
                         NO_SUBSCRIPTION, request_id)
    kind = _string(body, "requestSubType", request_id)
    if subscription is None:
        if _string(body, "requestType", request_id) != "EIDO":
            raise ProtocolError(BAD_REQUEST, 'requestType must be "EIDO"', request_id)
        if kind not in SUB_TYPES:
            status = NOT_ACCEPTABLE if kind == "resource" else BAD_REQUEST
            raise ProtocolError(status, 'requestSubType must be "new" or "single"', request_id)
    if body.get("qualFilter") is not None:
        raise ProtocolError(NOT_ACCEPTABLE, "qualFilter is not supported", request_id)
    incident = _uuid(_string(body, "incidentId", request_id), "incidentId", NOT_FOUND,
                     request_id)
    if kind == "single" and incident is None:
        raise ProtocolError(BAD_REQUEST, "a single subscription needs incidentId", request_id)
    if kind == "new" and incident is not None:
        raise ProtocolError(BAD_REQUEST, "incidentId goes with requestSubType single",
                            request_id)
    return Subscribe(request_id=request_id, sub_type=kind or "", incident_id=incident,
                     min_rate_s=_positive(body, "minRate", request_id),
                     expires_s=_positive(body, "expires", request_id),
                     subscription_id=subscription)


def negotiate(min_rate_s: int | None, expires_s: int | None,
              token_left_s: float) -> tuple[int, int]:
    """The minRate and expires the notifier grants."""
    rate = min(max(min_rate_s or DEFAULT_MIN_RATE_S, MIN_RATE_S), MAX_RATE_S)
    expires = min(expires_s or DEFAULT_EXPIRES_S, MAX_EXPIRES_S, int(token_left_s))
    return rate, max(expires, 1)


def subscribe_response(request_id: str, status: int, detail: str | None = None, *,
                       subscription: EidoSubscription | None = None,
                       now: datetime | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"requestId": request_id, "statusCode": status,
                            "statusText": detail or STATUS_TEXT.get(status, "Error")}
    if subscription is not None:
        left = (subscription.expires_at - (now or datetime.now(UTC))).total_seconds()
        body.update(subscriptionId=str(subscription.id), minRate=subscription.min_rate_s,
                    expires=max(int(left), 0))
    return {"subscribeResponse": body}


def unsubscribe_response(request_id: str, subscription_id: str, status: int) -> dict[str, Any]:
    return {"unsubscribeResponse": {"requestId": request_id, "subscriptionId": subscription_id,
                                    "statusCode": status,
                                    "statusText": STATUS_TEXT.get(status, "Error")}}


def not_implemented(request_id: str = "") -> dict[str, Any]:
    return {"response": {"requestId": request_id, "statusCode": NOT_IMPLEMENTED,
                         "statusText": "Not implemented"}}


def event(subscription_id: uuid.UUID, transaction_id: uuid.UUID,
          notifications: list[dict[str, Any]]) -> dict[str, Any]:
    return {"event": {"subscriptionId": str(subscription_id),
                      "transactionId": str(transaction_id), "notification": notifications}}


def terminate(subscription_id: uuid.UUID) -> dict[str, Any]:
    return {"terminate": {"requestId": str(uuid.uuid4()), "subscriptionId": str(subscription_id)}}


def acknowledged(body: dict[str, Any]) -> uuid.UUID | None:
    """The transaction an `eventResponse` acknowledges (None: not an acknowledgement)."""
    if body.get("statusCode") != OK or not isinstance(body.get("transactionId"), str):
        return None
    try:
        return uuid.UUID(body["transactionId"])
    except ValueError:
        return None


def incident_of(frame: str) -> uuid.UUID | None:
    """The incident a feed frame is about (None: not about an incident)."""
    incident = orjson.loads(frame).get("incident")
    if not isinstance(incident, dict) or not isinstance(incident.get("id"), str):
        return None
    try:
        return uuid.UUID(incident["id"])
    except ValueError:
        return None


# --- the subscriptions of record --------------------------------------------------------

async def create_subscription(
    session: AsyncSession, *, user_id: uuid.UUID, kind: str, incident_id: uuid.UUID | None,
    min_rate_s: int, expires_s: int, last_seq: int,
) -> EidoSubscription:
    subscription = EidoSubscription(
        id=uuid.uuid4(), user_id=user_id, kind=kind, incident_id=incident_id,
        min_rate_s=min_rate_s, expires_at=datetime.now(UTC) + timedelta(seconds=expires_s),
        last_seq=last_seq)
    session.add(subscription)
    await session.flush()
    return subscription


async def find_subscription(session: AsyncSession, subscription_id: uuid.UUID,
                            user_id: uuid.UUID) -> EidoSubscription | None:
    """The account's subscription if it is still in force."""
    subscription = await session.get(EidoSubscription, subscription_id)
    if (subscription is None or subscription.user_id != user_id
            or subscription.terminated_at is not None
            or subscription.expires_at <= datetime.now(UTC)):
        return None
    return subscription


async def pending_events(session: AsyncSession,
                         subscription_id: uuid.UUID) -> list[EidoPendingEvent]:
    return list(await session.scalars(
        select(EidoPendingEvent).where(EidoPendingEvent.subscription_id == subscription_id)
        .order_by(EidoPendingEvent.seq, EidoPendingEvent.sent_at)))


async def record_sent(session: AsyncSession, subscription_id: uuid.UUID,
                      transaction_id: uuid.UUID, seq: int, incident_id: uuid.UUID) -> None:
    session.add(EidoPendingEvent(transaction_id=transaction_id,
                                 subscription_id=subscription_id, seq=seq,
                                 incident_id=incident_id))
    await advance(session, subscription_id, seq)


async def advance(session: AsyncSession, subscription_id: uuid.UUID, last_seq: int) -> None:
    await session.execute(
        update(EidoSubscription)
        .where(EidoSubscription.id == subscription_id, EidoSubscription.last_seq < last_seq)
        .values(last_seq=last_seq))


async def acknowledge(session: AsyncSession, transaction_id: uuid.UUID,
                      subscription_ids: list[uuid.UUID]) -> bool:
    """Forget an acknowledged notification of one of these subscriptions."""
    result = await session.execute(
        delete(EidoPendingEvent).where(
            EidoPendingEvent.transaction_id == transaction_id,
            EidoPendingEvent.subscription_id.in_(subscription_ids))
        .returning(EidoPendingEvent.transaction_id))
    return result.first() is not None


async def end_subscription(session: AsyncSession, subscription_id: uuid.UUID) -> bool:
    """Terminate (or unsubscribe) a subscription; its pending notifications go with it."""
    result = await session.execute(
        update(EidoSubscription)
        .where(EidoSubscription.id == subscription_id,
               EidoSubscription.terminated_at.is_(None))
        .values(terminated_at=datetime.now(UTC)).returning(EidoSubscription.id))
    await session.execute(delete(EidoPendingEvent).where(
        EidoPendingEvent.subscription_id == subscription_id))
    return result.first() is not None
