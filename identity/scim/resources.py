"""The resources FaceAuth publishes: only the attributes it stores, so that what a client
writes is what it reads back (a conformance suite derives its checks from these schemas)."""

from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import Field
from scim2_models import (
    URN,
    AuthenticationScheme,
    Bulk,
    CaseExact,
    ChangePassword,
    ComplexAttribute,
    ETag,
    Extension,
    Filter,
    Mutability,
    Patch,
    Reference,
    Required,
    Resource,
    ResourceType,
    SchemaExtension,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
)

from accounts.models import Role

# Roles a directory may give. Admin is granted in FaceAuth only: a provisioning token must
# not be a way to become an administrator (docs/identity.md, "Provisioning").
PROVISIONED_ROLES = (
    Role.EMPLOYEE.value,
    Role.MANAGER.value,
    Role.GUARD.value,
    Role.VISITOR.value,
    Role.CONTRACTOR.value,
)
MAX_RESULTS = 200  # per page; a larger "count" is lowered to this (RFC 7644 §3.4.2.4)
FACEAUTH_USER_URN = "urn:faceauth:params:scim:schemas:extension:2.0:User"
ENTERPRISE_USER_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


class Email(ComplexAttribute):
    value: str | None = None


class Name(ComplexAttribute):
    formatted: Annotated[str | None, Mutability.read_only] = None
    given_name: Annotated[str | None, Mutability.read_only] = None
    family_name: Annotated[str | None, Mutability.read_only] = None


class EnterpriseUser(Extension):
    """The attributes of RFC 7643 §4.3 that FaceAuth keeps."""

    __schema__ = URN(ENTERPRISE_USER_URN)

    employee_number: Annotated[str | None, Uniqueness.server] = None
    department: str | None = None


class FaceAuthUser(Extension):
    """FaceAuth's role and the validity window that visitors and contractors must have."""

    __schema__ = URN(FACEAUTH_USER_URN)

    # Required: every person has a role. A request without it keeps the person's role
    # (employee for a new person): identity.scim.views.with_defaults.
    role: Annotated[str | None, Required.true] = Field(None, examples=list(PROVISIONED_ROLES))
    valid_from: datetime | None = None
    valid_until: datetime | None = None


class GroupRef(ComplexAttribute):
    value: Annotated[str | None, Mutability.read_only, CaseExact.true] = None
    ref: Annotated[Reference["Group"] | None, Mutability.read_only] = Field(
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    display: Annotated[str | None, Mutability.read_only] = None


class User(Resource[EnterpriseUser | FaceAuthUser]):
    """A person known to FaceAuth."""

    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:User")

    user_name: Annotated[str | None, Uniqueness.server, Required.true, Mutability.immutable] = None
    # Derived from displayName (FaceAuth keeps one name); the directory writes displayName.
    name: Annotated[Name | None, Mutability.read_only] = None
    display_name: str | None = None
    title: str | None = None
    # Required likewise: absent means "as it is" (true for a new person).
    active: Annotated[bool | None, Required.true] = None
    emails: list[Email] | None = None
    groups: Annotated[list[GroupRef] | None, Mutability.read_only] = None


class Member(ComplexAttribute):
    value: Annotated[str | None, Mutability.immutable, CaseExact.true] = None
    ref: Annotated[Reference["User"] | None, Mutability.immutable] = Field(
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    type: Annotated[str | None, Mutability.immutable] = Field(None, examples=["User"])


class Group(Resource):
    """A department; its members are the people in it."""

    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:Group")

    display_name: Annotated[str | None, Required.true, Uniqueness.server] = None
    members: list[Member] | None = None

    Members: ClassVar[type[ComplexAttribute]] = Member


def resource_types(base: str) -> list[ResourceType]:
    return [
        ResourceType(
            id="User",
            name="User",
            description="A person",
            endpoint="/Users",
            schema_="urn:ietf:params:scim:schemas:core:2.0:User",
            schema_extensions=[
                SchemaExtension(schema_=ENTERPRISE_USER_URN, required=False),
                SchemaExtension(schema_=FACEAUTH_USER_URN, required=True),
            ],
            meta={"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/User"},
        ),
        ResourceType(
            id="Group",
            name="Group",
            description="A department",
            endpoint="/Groups",
            schema_="urn:ietf:params:scim:schemas:core:2.0:Group",
            schema_extensions=[],
            meta={"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/Group"},
        ),
    ]


def schemas(base: str) -> list:
    out = []
    for model in (User, Group, EnterpriseUser, FaceAuthUser):
        schema = model.to_schema()
        schema.meta = {"resourceType": "Schema", "location": f"{base}/Schemas/{schema.id}"}
        out.append(schema)
    return out


def service_provider_config(base: str) -> ServiceProviderConfig:
    return ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken",
                name="Bearer token",
                description="A provisioning client's token (FaceAuth admin, Identity "
                "provider, Provisioning clients)",
                primary=True,
            )
        ],
        meta={"resourceType": "ServiceProviderConfig", "location": f"{base}/ServiceProviderConfig"},
    )
