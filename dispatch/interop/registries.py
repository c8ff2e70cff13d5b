"""Our value lists mapped onto the registries partners read: NENA's EIDO registries and
OASIS CAP's enumerations. One copy of each mapping; docs/EIDO.md shows them as tables
(a test checks that every value of ours has an entry here).

NENA publishes its registries (incident type, status, disposition, agency role, unit
status, ...) apart from the EIDO JSON schema, which types all of them as free strings;
where no registry value fits exactly, the nearest one is used and our own code always
travels beside it (`...InternalCode`/`...InternalText`), so nothing is lost."""

from __future__ import annotations

from types import MappingProxyType

# Category → (EIDO incidentTypeCommonRegistryText, CAP <category>)
CATEGORY_TYPES = MappingProxyType({
    "fire": ("Fire", "Fire"),
    "fire_with_injury": ("Fire", "Fire"),
    "gas_leak": ("Hazmat", "CBRNE"),
    "medical": ("Medical", "Health"),
    "traffic_accident": ("Traffic", "Transport"),
    "crime": ("LawEnforcement", "Security"),
    "violence": ("LawEnforcement", "Security"),
    "suicide_attempt": ("Medical", "Health"),
    "missing_person": ("LawEnforcement", "Rescue"),
    "public_disturbance": ("LawEnforcement", "Security"),
    "natural_disaster": ("Disaster", "Geo"),
    "fallen_tree": ("Hazard", "Safety"),
    "drowning": ("Rescue", "Rescue"),
    "rescue": ("Rescue", "Rescue"),
    "animal": ("Hazard", "Safety"),
    "electrical_hazard": ("Hazard", "Infra"),
    "building_collapse": ("Rescue", "Rescue"),
    "body_found": ("LawEnforcement", "Security"),
    "person_in_distress": ("Welfare", "Safety"),
    "utility_outage": ("Utility", "Infra"),
    "ambulance_request": ("Medical", "Health"),
})
DEFAULT_CATEGORY_TYPE = ("Other", "Other")  # a category added by the admin later

# Incident status → EIDO incidentStatusCommonRegistryText
INCIDENT_STATUS = MappingProxyType({
    "open": "Created",
    "dispatched": "Dispatched",
    "acknowledged": "Acknowledged",
    "on_scene": "OnScene",
    "closed": "Closed",
})

# Incident priority 1 (life-threatening) … 4 → EIDO incidentCommonPriorityNumber (0–10,
# 10 highest) and the STA-023 call priority of its calls
PRIORITY_NUMBER = MappingProxyType({1: 10, 2: 7, 3: 4, 4: 1})
CALL_PRIORITY = MappingProxyType({1: "highest", 2: "high", 3: "normal", 4: "low"})

# Call disposition → EIDO dispositionCommonRegistryCode; a closed incident → "Completed",
# a merged one → "Duplicate" (with a mergeComponent naming the survivor)
CALL_DISPOSITION = MappingProxyType({
    "prank": "Prank",
    "ghost": "NoCaller",
    "info": "InformationOnly",
    "duplicate": "Duplicate",
    "transferred": "Transferred",
    "abandoned": "Abandoned",
})
CLOSED_DISPOSITION = "Completed"
MERGED_DISPOSITION = "Duplicate"

# Agency kind → EIDO agencyType (IANA urn:emergency:service:responder labels, prefix
# left out as the schema asks); kinds without a label of their own are marked *local*
# in docs/EIDO.md
AGENCY_TYPE = MappingProxyType({
    "police": "police",
    "fire": "fire",
    "health": "ems",
    "disaster": "emergency_management",
    "sar": "search_and_rescue",
    "utility": "utility",
})
CENTER_AGENCY_TYPE = "psap"
CENTER_ROLES = ("PSAP", "Dispatch")
RESPONDING_ROLES = ("Responding",)

# Assignment status → how the agency's part shows in incidentStatusInternalText
# ("assignment:<agency code>:<status>": our own words, no registry)

# Unit kind → EIDO emergencyResourceTypeCommonRegistryText
UNIT_TYPE = MappingProxyType({
    "ambulance": "Ambulance",
    "patrol": "Patrol",
    "fire_engine": "Engine",
    "rescue": "Rescue",
    "other": "Other",
})
UNIT_AGENT_ROLES = ("Responder",)

# Unit status → EIDO primaryUnitStatusRegistryText
UNIT_STATUS = MappingProxyType({
    "available": "Available",
    "dispatched": "Dispatched",
    "en_route": "Enroute",
    "on_scene": "OnScene",
    "transporting": "Transporting",
    "at_hospital": "AtHospital",
    "returning": "Returning",
    "out_of_service": "OutOfService",
})

# Location source → PIDF-LO <method> (IANA method tokens, RFC 4119)
LOCATION_METHOD = MappingProxyType({
    "aml": "GPS",
    "manual": "Manual",
    "cell": "Cell",
    "address": "Derived",
})

# Location kinds → EIDO locationTypeDescriptionRegistryText
LOCATION_INCIDENT = "Incident"
LOCATION_CALLER = "Caller"
LOCATION_UNIT = "Unit"

# Calls → EIDO callStateRegistryText (IANA/NENA call states) and call type
CALL_ANSWERED = "callAnswered"
CALL_ENDED = "callEnd"
CALL_TYPE = "emergency"
