"""Incident categories: the agency kinds each needs and its default priority."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agencies.models import Category
from dispatch.core.errors import Invalid
from dispatch.core.events import append_event


def category_view(category: Category) -> dict[str, Any]:
    return {
        "code": category.code,
        "name": category.name,
        "name_id": category.name_id,
        "agency_kinds": list(category.agency_kinds),
        "default_priority": category.default_priority,
        "active": category.active,
    }


async def list_categories(session: AsyncSession) -> list[dict[str, Any]]:
    rows = await session.scalars(select(Category).order_by(Category.code))
    return [category_view(c) for c in rows]


async def put_category(
    session: AsyncSession, code: str, data: dict[str, Any], *, actor: str
) -> tuple[dict[str, Any], bool]:
    """Create or replace one category (admin). Agency kinds keep their order (dispatch
    order) and may not repeat."""
    if not code.replace("_", "").isalnum() or not code.islower() or len(code) > 40:
        raise Invalid("category code must be lower-case letters, digits and '_'", field="code")
    kinds = list(data["agency_kinds"])
    if len(set(kinds)) != len(kinds):
        raise Invalid("agency_kinds must not repeat a kind", field="agency_kinds")
    category = await session.get(Category, code, with_for_update=True)
    created = category is None
    before = None if category is None else category_view(category)
    if category is None:
        category = Category(code=code)
        session.add(category)
    category.name = data["name"]
    category.name_id = data["name_id"]
    category.agency_kinds = kinds
    category.default_priority = data["default_priority"]
    category.active = data.get("active", True)
    await session.flush()
    after = category_view(category)
    await append_event(session, "category.created" if created else "category.updated",
                       actor=actor, entity="category", entity_id=code, before=before,
                       after=after)
    return after, created
