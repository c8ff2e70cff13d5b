"""NENA EIDO 1.0 (NENA-STA-021, `EmergencyIncidentDataObjectType`) as pydantic models:
our own transcription of the parts of NENA's published schema (NENA911/EIDO-JSON,
`Schema/openapi.yaml`) that this service writes, with the same required members and
types. NENA's files carry no licence, so they are not copied here; docs/EIDO.md says how
the models were checked against the real schema.

Every component starts with the prologue (`$id`, `lastUpdateTimeStamp`,
`updatedByAgencyReference`); components point at each other with `{"$ref": "<$id>"}`.
Members are named as in the schema (camelCase), so a model dumped `by_alias` is the
document. `extra="forbid"` keeps us from writing a member the schema does not know.

In the OpenAPI document the keys `$id` and `$ref` are described with `patternProperties`
rather than as property names: a literal `"$ref"` key inside `properties` is legal JSON
Schema but trips reference resolvers (client generators, fuzzers)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

Direction = Literal["incoming", "outgoing", "internal"]
CallPriority = Literal["highest", "high", "normal", "low", "lowest"]
MergeDirection = Literal["REPLACING", "REPLACED", "SPLIT"]


def _dollar_keys_as_patterns(schema: JsonSchemaValue, *names: str) -> JsonSchemaValue:
    properties = schema.get("properties", {})
    patterns = schema.setdefault("patternProperties", {})
    for name in names:
        if name in properties:
            patterns[f"^\\{name}$"] = properties.pop(name)
    return schema


class _Strict(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class EidoReference(_Strict):
    """`ReferenceType`: the `$id` of another component of the document."""

    ref: str = Field(alias="$ref")

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return _dollar_keys_as_patterns(handler(core_schema), "$ref")


def ref(target: str) -> EidoReference:
    return EidoReference(ref=target)


class EidoPrologue(_Strict):
    """`PrologueType`, the common head of every component."""

    id: str = Field(alias="$id")
    lastUpdateTimeStamp: AwareDatetime
    updatedByAgencyReference: EidoReference
    updatedByAgentReference: EidoReference | None = None

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema) if "$ref" in schema else schema
        _dollar_keys_as_patterns(target, "$id")
        return schema


class EidoAgency(EidoPrologue):
    """`AgencyType`."""

    agencyJcard: str | None = None
    agencyRoleDescriptionRegistryText: list[str]
    agencyType: list[str]
    incidentOwningAgencyIndicator: bool | None = None
    notesReference: list[EidoReference] | None = None


class EidoAgent(EidoPrologue):
    """`AgentType`."""

    agentJcard: str | None = None
    agentRoleRegistryText: list[str] = Field(min_length=1)
    agencyReference: EidoReference


class EidoNote(EidoPrologue):
    """`NotesType`: `notesActionComments` is HTML5 text."""

    notesActionComments: str
    agentReference: EidoReference | None = None


class EidoLocation(EidoPrologue):
    """`LocationInformationType`: `locationByValue` is a PIDF-LO document (XML text)."""

    locationTypeDescriptionRegistryText: str
    locationByValue: str | None = None
    locationDescriptionText: str | None = None
    localIdentifier: list[str] | None = None


class EidoDisposition(EidoPrologue):
    """`DispositionType`."""

    dispositionCommonRegistryCode: str
    dispositionPrimaryIndicator: bool | None = None
    dispositionCategoryText: str | None = None
    dispositionDescriptionText: str | None = None


class EidoMerge(EidoPrologue):
    """`MergeInformationType`."""

    incidentTrackingIdentifier: str
    incidentMergeDirectionCode: MergeDirection


class EidoIncident(EidoPrologue):
    """`IncidentInformationType`."""

    incidentTypeInternalCode: str | None = None
    incidentTypeInternalText: str | None = None
    incidentTypeCommonRegistryText: str
    incidentStatusInternalText: list[str] | None = None
    incidentStatusCommonRegistryText: list[str] | None = None
    internalIncidentId: str | None = None
    locationReference: list[EidoReference] | None = None
    incidentPriorityInternalText: str | None = None
    incidentCommonPriorityNumber: int | None = Field(default=None, ge=0, le=10)
    dispositionComponent: list[EidoDisposition] | None = None
    notesReference: list[EidoReference] | None = None


class EidoCallback(EidoPrologue):
    """`CallbackType`."""

    callBackInformationUri: list[str] | None = None


class EidoCall(EidoPrologue):
    """`CallInformationType`."""

    standardPrimaryCallType: str
    localCallType: str | None = None
    direction: Direction
    priorityIdentifier: CallPriority | None = None
    callStartTimestamp: AwareDatetime
    answerDate: AwareDatetime | None = None
    callStateRegistryText: str
    callBackReference: EidoReference | None = None
    locationReference: list[EidoReference] | None = None


class EidoEmergencyResource(EidoPrologue):
    """`EmergencyResourceType`: a unit."""

    emergencyResourceTypeCommonRegistryText: str
    emergencyResourceTypeInternalText: str | None = None
    resourceAttributeRegistryText: list[str]
    emergencyResourceName: str | None = None
    primaryUnitStatusRegistryText: str
    secondaryUnitStatusRegistryText: list[str]
    unitStatusInternal: list[str] | None = None
    agentReference: list[EidoReference]
    unitLocationReference: EidoReference | None = None


class EidoDispatch(EidoPrologue):
    """`DispatchInformationType`: one agency dispatched (an assignment)."""

    agencyReference: EidoReference | None = None
    emergencyResourceReference: list[EidoReference] | None = None


class EidoDocument(EidoPrologue):
    """`EmergencyIncidentDataObjectType`: one incident as NENA EIDO 1.0."""

    eidoVersion: Literal["1.0"] = "1.0"
    issuingElementIdentification: str
    mergeComponent: list[EidoMerge] | None = None
    incidentComponent: EidoIncident | None = None
    callComponent: list[EidoCall] | None = None
    callbackComponent: list[EidoCallback] | None = None
    dispatchComponent: list[EidoDispatch] | None = None
    notesComponent: list[EidoNote] | None = None
    emergencyResourceComponent: list[EidoEmergencyResource] | None = None
    agencyComponent: list[EidoAgency]
    agentComponent: list[EidoAgent] | None = None
    locationComponent: list[EidoLocation] | None = None

    def document(self) -> dict[str, Any]:
        """The JSON document (aliases, no absent members)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
