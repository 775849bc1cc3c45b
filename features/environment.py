"""Run the features against a real uvicorn server, or against `-D base_url=...`.

Without `base_url`, the features start the server themselves, with a refresh-token grace
window of 0 seconds so that a replay past the window needs only a one-second wait, and with
the per-address limit off, since every scenario registers and logs in from 127.0.0.1.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import requests
from behave.model import Scenario
from behave.runner import Context

from features.support.passkeys import PASSKEY_ORIGIN, PASSKEY_RP_ID
from tooling.devserver import running_server

BUILD = Path("build")
# The resource server of the introspection scenarios; `-D introspection_client=id:secret`
# names one of a deployment's INTROSPECTION_CLIENTS instead.
INTROSPECTION_CLIENT = "features-resource-server:features-resource-server-secret-32b"
SERVER_ENV = {
    "REFRESH_REUSE_GRACE_SECONDS": "0",
    "AUTH_RATE_LIMIT_PER_MINUTE": "0",
    "REGISTRATIONS_PER_ADDRESS_PER_DAY": "0",
    "TASK_WRITES_PER_MINUTE": "0",
    "INTROSPECTION_CLIENTS": INTROSPECTION_CLIENT,
    # The page the passkey scenarios' authenticator claims to serve.
    "WEBAUTHN_RP_ID": PASSKEY_RP_ID,
    "WEBAUTHN_ORIGINS": PASSKEY_ORIGIN,
}
# Scenarios tagged @grace_window need a window wide enough to retry in: the default 10 s.
GRACE_SERVER_ENV = {**SERVER_ENV, "REFRESH_REUSE_GRACE_SECONDS": "10"}
# @minted signs tokens with the server's secret; @no_grace relies on SERVER_ENV's window.
STARTED_SERVER_ONLY = {"minted", "no_grace"}


def before_all(context: Context) -> None:
    context.servers = ExitStack()
    base_url = context.config.userdata.get("base_url")
    context.started_server = base_url is None
    if base_url is None:
        base_url = context.servers.enter_context(
            running_server(SERVER_ENV, log_path=BUILD / "features-server.log")
        )
    # Filled in place, so a server started during a scenario outlives that scenario.
    context.server_urls = {"main": base_url.rstrip("/")}
    client_id, _, secret = context.config.userdata.get(
        "introspection_client", INTROSPECTION_CLIENT
    ).partition(":")
    context.introspection_client = (client_id, secret)


def before_scenario(context: Context, scenario: Scenario) -> None:
    tags = set(scenario.effective_tags)
    if not context.started_server and tags & STARTED_SERVER_ONLY:
        scenario.skip("needs a server started by the features, not base_url")
        return
    context.base_url = _grace_server(context) if "grace_window" in tags else _main_server(context)
    context.http = requests.Session()
    context.people = {}
    # Each person's tasks, oldest first, as the API last showed them.
    context.tasks = {}
    # Whatever a person's task requests carry in place of her access token.
    context.carried_tokens = {}
    # Each person's authenticator, holding her passkeys.
    context.passkey_devices = {}


def after_scenario(context: Context, scenario: Scenario) -> None:
    http = getattr(context, "http", None)
    if http is not None:
        http.close()


def after_all(context: Context) -> None:
    context.servers.close()


def _main_server(context: Context) -> str:
    url: str = context.server_urls["main"]
    return url


def _grace_server(context: Context) -> str:
    if not context.started_server:
        # A deployment keeps its default grace window.
        return _main_server(context)
    if "grace" not in context.server_urls:
        context.server_urls["grace"] = context.servers.enter_context(
            running_server(GRACE_SERVER_ENV, log_path=BUILD / "features-grace-server.log")
        )
    url: str = context.server_urls["grace"]
    return url
