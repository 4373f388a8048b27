"""The SCIM endpoints under /scim/v2/. Thin: parse with scim2-models, call provisioning,
render. Every error is a SCIM Error document with its status, never a 500."""

from __future__ import annotations

import functools
import json
import logging

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError
from scim2_models import (
    Context,
    Error,
    InvalidFilterException,
    InvalidSyntaxException,
    ListResponse,
    NotFoundException,
    NotImplementedException,
    PatchOp,
    SCIMException,
    ScimPolicy,
    SearchRequest,
    UnauthorizedException,
)

from accounts.errors import DomainError

from ..authentication import bearer_token, provisioning_client
from . import provisioning, resources
from .resources import MAX_RESULTS, Group
from .resources import User as ScimUser

log = logging.getLogger("faceauth.scim")
CONTENT_TYPE = "application/scim+json"
MAX_BODY = 1_000_000
# What FaceAuth does not keep (an e-mail's type, a phone number, ...) is ignored, as directories
# send their whole record; what it keeps is validated.
REQUESTS = ScimPolicy(unknown=ScimPolicy.Unknown.ignore)


def _json(payload: dict, status: int = 200, location: str | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(payload), status=status, content_type=CONTENT_TYPE)
    if location:
        response["Location"] = location
    return response


def _error(exc: SCIMException) -> HttpResponse:
    return _json(exc.to_error().model_dump(), status=exc.status)


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/scim/v2").rstrip("/")


def scim_view(*methods: str):
    """Authenticate the provisioning client, allow ``methods``, and turn every error into a
    SCIM Error (the authorization middleware has already refused any other principal)."""

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            client = provisioning_client(bearer_token(request) or "")
            if client is None:
                response = _error(UnauthorizedException(detail="A provisioning token is needed."))
                response["WWW-Authenticate"] = 'Bearer realm="scim"'
                return response
            if request.method not in methods:
                return _json(
                    Error(status=405, detail=f"{request.method} is not allowed here").model_dump(),
                    status=405,
                )
            client.last_used_at = timezone.now()
            client.save(update_fields=["last_used_at"])
            try:
                with REQUESTS:
                    return view(request, client, *args, **kwargs)
            except SCIMException as exc:
                return _error(exc)
            except ValidationError as exc:
                errors = Error.from_validation_errors(exc)
                error = errors[0] if errors else Error(status=400, scim_type="invalidValue")
                return _json(error.model_dump(), status=error.status or 400)
            except DomainError as exc:
                return _error(provisioning.domain_error(exc))

        return wrapper

    return decorate


def _body(request: HttpRequest) -> dict:
    if len(request.body) > MAX_BODY:
        raise InvalidSyntaxException(detail="The request body is too large.")
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise InvalidSyntaxException(detail="The body is not JSON.") from None
    if not isinstance(data, dict):
        raise InvalidSyntaxException(detail="The body must be a JSON object.")
    return data


# ----------------------------------------------------------------- discovery


@scim_view("GET")
def service_provider_config(request, client):
    return _json(resources.service_provider_config(base_url(request)).model_dump())


def _list(items: list, start: int = 1, total: int | None = None) -> dict:
    return ListResponse[type(items[0])](
        total_results=len(items) if total is None else total,
        start_index=start,
        items_per_page=len(items),
        resources=items,
    ).model_dump(scim_ctx=Context.SEARCH_RESPONSE)


@scim_view("GET")
def resource_types(request, client):
    return _json(_list(resources.resource_types(base_url(request))))


@scim_view("GET")
def resource_type(request, client, name: str):
    for item in resources.resource_types(base_url(request)):
        if item.id == name:
            return _json(item.model_dump())
    raise NotFoundException(detail=f"No ResourceType {name}")


@scim_view("GET")
def schemas(request, client):
    return _json(_list(resources.schemas(base_url(request))))


@scim_view("GET")
def schema(request, client, urn: str):
    for item in resources.schemas(base_url(request)):
        if item.id == urn:
            return _json(item.model_dump())
    raise NotFoundException(detail=f"No Schema {urn}")


@scim_view("GET", "POST", "PUT", "PATCH", "DELETE")
def not_found(request, client, rest: str = ""):
    raise NotFoundException(detail="No such SCIM endpoint.")


# ----------------------------------------------------------------- search


# Filters on these attributes narrow the query in the database before the filter is matched.
INDEXED = {
    ScimUser: {
        "username": "username__iexact",
        "externalid": "faceauth_subject__external_id",
        "emails.value": "email__iexact",
        "emails": "email__iexact",
        "id": "faceauth_subject__sub",
        "employeenumber": "employee_number",
    },
    Group: {"displayname": "name__iexact", "id": "pk"},
}


def _search_request(model, data: dict) -> SearchRequest:
    try:
        return SearchRequest[model].model_validate(data, scim_ctx=Context.SEARCH_REQUEST)
    except ValidationError as exc:
        text = str(exc)
        if "filter" in text.lower():
            raise InvalidFilterException(detail=text.splitlines()[-1][:300]) from None
        raise


def _narrow(model, queryset, search: SearchRequest):
    ast = search.filter.ast if search.filter is not None else None
    if type(ast).__name__ != "Comparison" or str(ast.op).lower() != "eq":
        return queryset
    key = ast.attr_path.attr.lower() + (
        f".{ast.attr_path.sub_attr.lower()}" if ast.attr_path.sub_attr else ""
    )
    lookup = INDEXED[model].get(key)
    if lookup is None or not isinstance(ast.value, str):
        return queryset
    if lookup in ("pk", "faceauth_subject__sub"):
        import uuid

        try:
            value = int(ast.value) if lookup == "pk" else uuid.UUID(ast.value)
        except ValueError:
            return queryset.none()
        return queryset.filter(**{lookup: value})
    return queryset.filter(**{lookup: ast.value})


def _search(request, model, data: dict) -> HttpResponse:
    search = _search_request(model, data)
    base = base_url(request)
    if model is ScimUser:
        queryset, render = provisioning.people_in_scim(), provisioning.user_resource
    else:
        queryset, render = (
            provisioning.Department.objects.order_by("pk"),
            (provisioning.group_resource),
        )
    items = [render(obj, base) for obj in _narrow(model, queryset, search)]
    if search.filter is not None:
        try:
            items = [item for item in items if search.filter.match(item)]
        except (SCIMException, ValueError, TypeError) as exc:
            raise InvalidFilterException(detail=str(exc)[:300]) from None
    start = max(search.start_index or 1, 1)
    count = MAX_RESULTS if search.count is None else min(max(search.count, 0), MAX_RESULTS)
    page = items[start - 1 : start - 1 + count]
    response = ListResponse[model](
        total_results=len(items), start_index=start, items_per_page=len(page), resources=page
    )
    return _json(response.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=search))


def _query_params(request) -> dict:
    return {k: v for k, v in request.GET.items()}


# ----------------------------------------------------------------- resources


def _dump(resource, request, ctx: Context) -> dict:
    params = _query_params(request)
    if params.get("attributes") or params.get("excludedAttributes"):
        search = _search_request(type(resource), params)
        return resource.model_dump(scim_ctx=ctx, response_parameters=search)
    return resource.model_dump(scim_ctx=ctx)


def with_defaults(data: dict, *, active: bool = True, role: str = "employee") -> dict:
    """Fill the attributes FaceAuth always has (``active``, the FaceAuth ``role``) when a
    request leaves them out, so that a directory that never sends them still works."""
    if not isinstance(data.get(resources.FACEAUTH_USER_URN, {}), dict):
        return data
    data.setdefault("active", active)
    extension = data.setdefault(resources.FACEAUTH_USER_URN, {})
    extension.setdefault("role", role)
    schemas = data.get("schemas")
    if isinstance(schemas, list) and resources.FACEAUTH_USER_URN not in schemas:
        schemas.append(resources.FACEAUTH_USER_URN)
    return data


def _collection(model, create):
    @scim_view("GET", "POST")
    def view(request, client):
        if request.method == "GET":
            return _search(request, model, _query_params(request))
        data = _body(request)
        if model is ScimUser:
            data = with_defaults(data)
        resource = model.model_validate(data, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
        created = create(resource, client, base_url(request))
        return _json(
            _dump(created, request, Context.RESOURCE_CREATION_RESPONSE),
            status=201,
            location=created.meta.location,
        )

    return view


def _search_view(model):
    @scim_view("POST")
    def view(request, client):
        return _search(request, model, _body(request))

    return view


def _create_user(resource, client, base):
    person = provisioning.create_user(user=resource, client=client)
    return provisioning.user_resource(person, base)


def _create_group(resource, client, base):
    department = provisioning.create_group(group=resource, client=client)
    return provisioning.group_resource(department, base)


users = _collection(ScimUser, _create_user)
groups = _collection(Group, _create_group)
users_search = _search_view(ScimUser)
groups_search = _search_view(Group)


@scim_view("POST")
def root_search(request, client):
    raise NotImplementedException(detail="Search /Users/.search or /Groups/.search.")


def _item(model, find, render, replace, delete):
    @scim_view("GET", "PUT", "PATCH", "DELETE")
    def view(request, client, scim_id: str):
        obj = find(scim_id)
        base = base_url(request)
        if request.method == "GET":
            return _json(_dump(render(obj, base), request, Context.RESOURCE_QUERY_RESPONSE))
        if request.method == "DELETE":
            delete(obj, client)
            return HttpResponse(status=204)
        if request.method == "PUT":
            data = _body(request)
            if model is ScimUser:
                data = with_defaults(data, active=obj.is_active, role=obj.role)
            resource = model.model_validate(data, scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
            ctx = Context.RESOURCE_REPLACEMENT_RESPONSE
        else:
            patch = PatchOp[model].model_validate(
                _body(request), scim_ctx=Context.RESOURCE_PATCH_REQUEST
            )
            resource = render(obj, base)
            if not patch.patch(resource):
                return _json(_dump(resource, request, Context.RESOURCE_PATCH_RESPONSE))
            ctx = Context.RESOURCE_PATCH_RESPONSE
        replace(obj, resource, client)
        obj.refresh_from_db()
        return _json(_dump(render(obj, base), request, ctx))

    return view


user = _item(
    ScimUser,
    provisioning.person_by_id,
    provisioning.user_resource,
    lambda person, resource, client: provisioning.replace_user(
        person=person, user=resource, client=client
    ),
    lambda person, client: provisioning.delete_user(person=person, client=client),
)
group = _item(
    Group,
    provisioning.department_by_id,
    provisioning.group_resource,
    lambda department, resource, client: provisioning.replace_group(
        department=department, group=resource, client=client
    ),
    lambda department, client: provisioning.delete_group(department=department, client=client),
)
