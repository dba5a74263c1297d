"""Drives Teamline's Microsoft simulator with the official Microsoft Graph SDK for Python.

Proof that the simulator speaks Graph (paths, JSON shapes, paging, delta links) as Microsoft's
own SDK expects, not a dialect of Teamline's client. Exits non-zero on any mismatch.

Environment (set by the Rust test `ms_sdk`):
  SIM_BASE_URL        https://127.0.0.1:PORT of the simulator (HTTPS: the SDK insists on it)
  SIM_CA_FILE         PEM of the simulator's CA
  SIM_TENANT_ID       tenant (Contoso)
  SIM_CLIENT_ID       Teamline's app id
  SIM_CLIENT_SECRET   Teamline's client secret
  SIM_SYNC_GROUP_ID   object id of the group "Teammate Sync"
"""

import asyncio
import os
import ssl
import sys
from urllib.parse import urlparse

import httpx
from azure.identity import ClientSecretCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.groups.item.transitive_members.graph_user.graph_user_request_builder import (
    GraphUserRequestBuilder,
)
from msgraph.generated.users.delta.delta_request_builder import DeltaRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph_core import GraphClientFactory

TEAMS_PHONE = "4828c8ec-dc2e-4779-b502-87ac9ce28ab7"


def fail(message: str) -> None:
    print(f"graph-sdk-check: MISMATCH: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition: bool, message: str) -> None:
    if not condition:
        fail(message)


async def main() -> None:
    base = os.environ["SIM_BASE_URL"].rstrip("/")
    ca_file = os.environ["SIM_CA_FILE"]
    tenant = os.environ["SIM_TENANT_ID"]
    group_id = os.environ["SIM_SYNC_GROUP_ID"]
    parsed = urlparse(base)
    check(parsed.scheme == "https", "the simulator must be reached over HTTPS")

    credential = ClientSecretCredential(
        tenant_id=tenant,
        client_id=os.environ["SIM_CLIENT_ID"],
        client_secret=os.environ["SIM_CLIENT_SECRET"],
        authority=parsed.netloc,
        disable_instance_discovery=True,
        connection_verify=ca_file,
    )
    auth = AzureIdentityAuthenticationProvider(
        credential,
        scopes=["https://graph.microsoft.com/.default"],
        allowed_hosts=[parsed.hostname],
    )
    tls = ssl.create_default_context(cafile=ca_file)
    http = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(verify=tls))
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = f"{base}/v1.0"
    graph = GraphServiceClient(request_adapter=adapter)

    # 1. List users, following @odata.nextLink.
    config = RequestConfiguration(
        query_parameters=UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
            select=["id", "userPrincipalName", "displayName", "accountEnabled", "assignedPlans"],
            top=7,
        )
    )
    page = await graph.users.get(request_configuration=config)
    users = list(page.value)
    pages = 1
    while page.odata_next_link:
        page = await graph.users.with_url(page.odata_next_link).get()
        users.extend(page.value)
        pages += 1
    upns = {u.user_principal_name for u in users}
    check("AdeleV@contoso.example" in upns, f"Adele missing from {sorted(upns)}")
    check(pages >= 3, f"expected several pages of 7 users, got {pages}")
    adele = next(u for u in users if u.user_principal_name == "AdeleV@contoso.example")
    check(
        any(str(p.service_plan_id) == TEAMS_PHONE and p.capability_status == "Enabled" for p in adele.assigned_plans),
        "Adele's Teams Phone plan was not parsed from assignedPlans",
    )
    enrico = next(u for u in users if u.user_principal_name == "EnricoC@contoso.example")
    check(enrico.account_enabled is False, "Enrico must be disabled")
    print(f"users: {len(users)} in {pages} pages")

    # 2. Transitive members of the sync group, cast to users.
    members_config = RequestConfiguration(
        query_parameters=GraphUserRequestBuilder.GraphUserRequestBuilderGetQueryParameters(
            select=["id", "userPrincipalName"], top=999
        )
    )
    members = await graph.groups.by_group_id(group_id).transitive_members.graph_user.get(
        request_configuration=members_config
    )
    member_upns = {m.user_principal_name for m in members.value}
    check(len(member_upns) == 19, f"expected 19 transitive members, got {len(member_upns)}")
    check("MeganB@contoso.example" in member_upns, "Megan (nested through Sales) missing")
    check("IrvinS@contoso.example" not in member_upns, "Irvin is in no sync group")
    print(f"transitive members: {len(member_upns)}")

    # 3. A users delta round: initial sync, a change through the control API, then the deltaLink.
    delta_config = RequestConfiguration(
        query_parameters=DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(
            select=["id", "userPrincipalName", "displayName", "accountEnabled"]
        )
    )
    delta = await graph.users.delta.get(request_configuration=delta_config)
    initial = list(delta.value)
    while delta.odata_next_link:
        delta = await graph.users.delta.with_url(delta.odata_next_link).get()
        initial.extend(delta.value)
    check(delta.odata_delta_link is not None, "no @odata.deltaLink at the end of the initial round")
    check(len(initial) == len(users), f"initial delta returned {len(initial)} users, list returned {len(users)}")

    async with httpx.AsyncClient(verify=tls) as control:
        created = await control.post(
            f"{base}/_sim/tenants/{tenant}/users",
            json={"userPrincipalName": "SdkS@contoso.example", "displayName": "Sdk Sample"},
        )
        check(created.status_code == 201, f"control API refused the new user: {created.text}")
        patched = await control.patch(
            f"{base}/_sim/tenants/{tenant}/users/AdeleV@contoso.example",
            json={"accountEnabled": False},
        )
        check(patched.status_code == 204, f"control API refused the change: {patched.text}")

    changes = await graph.users.delta.with_url(delta.odata_delta_link).get()
    changed = {u.user_principal_name: u for u in changes.value}
    check(set(changed) == {"SdkS@contoso.example", "AdeleV@contoso.example"}, f"unexpected delta: {sorted(changed)}")
    check(changed["AdeleV@contoso.example"].account_enabled is False, "Adele's accountEnabled change not reported")
    check(changes.odata_delta_link is not None, "no new deltaLink")
    print(f"delta: {len(initial)} initial, {len(changes.value)} changed")
    print("graph-sdk-check: OK")


if __name__ == "__main__":
    asyncio.run(main())
