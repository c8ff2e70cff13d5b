"""Imports every model module so that Base.metadata knows the whole schema."""

import agencies.models  # noqa: F401
import dispatch.assignments.model
import dispatch.core.ratelimits
import dispatch.interop.models
import dispatch.models
import dispatch.units.model  # noqa: F401
import geo.models  # noqa: F401
