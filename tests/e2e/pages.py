"""The pages a real browser loads in the end-to-end tests, served from origins of their own."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Served under the cookie's own path, so that the cookie's Path alone would not hide it from
# document.cookie: only HttpOnly does.
APP_PATH = "/api/v1/auth/browser/app.html"
FORM_PATH = "/api/v1/auth/browser/form.html"
PASSKEY_PATH = "/api/v1/auth/browser/passkeys.html"

APP_PAGE = """<!doctype html>
<meta charset="utf-8">
<title>auth-api test app</title>
<script>
const API = %(api)s;
// What a single-page app keeps: the access token and the CSRF token, in memory only.
const app = {access: null, csrf: null};

async function call(path, {csrf, bearer, json} = {}) {
  const headers = {};
  if (csrf !== undefined) headers["X-CSRF-Token"] = csrf;
  if (bearer !== undefined) headers["Authorization"] = "Bearer " + bearer;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  const method = path.endsWith("/profile") ? "GET" : "POST";
  const response = await fetch(API + path, {method, headers, body, credentials: "include"});
  let data = null;
  try { data = await response.json(); } catch (error) {}
  return {status: response.status, body: data, cookie: document.cookie};
}

async function login(email, password) {
  const answer = await call("/api/v1/auth/browser/login", {json: {email, password}});
  if (answer.status === 200) {
    app.access = answer.body.access_token;
    app.csrf = answer.body.csrf_token;
  }
  return answer;
}

async function refresh({withCsrf = true} = {}) {
  const answer = await call("/api/v1/auth/browser/refresh", withCsrf ? {csrf: app.csrf} : {});
  if (answer.status === 200) app.access = answer.body.access_token;
  return answer;
}

const profile = () => call("/api/v1/protected/profile", {bearer: app.access});
const logout = () => call("/api/v1/auth/browser/logout", {csrf: app.csrf});
</script>
"""

# An app that adds a passkey with a password session, then signs in with the passkey alone,
# through the browser operations: the WebAuthn JSON forms in and out, no library.
PASSKEY_PAGE = """<!doctype html>
<meta charset="utf-8">
<title>auth-api passkey app</title>
<script>
const API = %(api)s;
const AUTH = API + "/api/v1/auth";
const app = {access: null, csrf: null};

async function call(method, url, {bearer, json} = {}) {
  const headers = {};
  if (bearer !== undefined) headers["Authorization"] = "Bearer " + bearer;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  const response = await fetch(url, {method, headers, body, credentials: "include"});
  let data = null;
  try { data = await response.json(); } catch (error) {}
  return {status: response.status, body: data, cookie: document.cookie};
}

async function passwordLogin(email, password) {
  const answer = await call("POST", AUTH + "/login", {json: {email, password}});
  if (answer.status === 200) app.access = answer.body.access_token;
  return answer;
}

async function addPasskey(name) {
  const options = await call("POST", AUTH + "/passkeys/registration/options", {bearer: app.access});
  if (options.status !== 200) return options;
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options.body.publicKey);
  const credential = await navigator.credentials.create({publicKey});
  const json = {challenge_id: options.body.challenge_id, credential: credential.toJSON(), name};
  const verify = AUTH + "/passkeys/registration/verify";
  const answer = await call("POST", verify, {bearer: app.access, json});
  return {...answer, algorithm: credential.response.getPublicKeyAlgorithm()};
}

// `userVerification` stands for a careless page that asks the authenticator for less than
// the server's options demand.
async function passkeyLogin({userVerification} = {}) {
  const options = await call("POST", AUTH + "/passkeys/authentication/options");
  if (options.status !== 200) return options;
  const request = options.body.publicKey;
  if (userVerification !== undefined) request.userVerification = userVerification;
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(request);
  let credential;
  try {
    credential = await navigator.credentials.get({publicKey});
  } catch (error) {
    return {status: null, refusedBy: "browser", error: error.name};
  }
  const json = {challenge_id: options.body.challenge_id, credential: credential.toJSON()};
  const answer = await call("POST", AUTH + "/browser/passkeys/authentication/verify", {json});
  if (answer.status === 200) {
    app.access = answer.body.access_token;
    app.csrf = answer.body.csrf_token;
  }
  return answer;
}

const profile = () => call("GET", API + "/api/v1/protected/profile", {bearer: app.access});
const logout = () => call("POST", AUTH + "/logout", {bearer: app.access});
</script>
"""

# A page of another origin that makes the browser POST a form at the refresh endpoint: the
# classic cross-site request forgery, which can send cookies but can set no header.
FORM_PAGE = """<!doctype html>
<meta charset="utf-8">
<title>not the app</title>
<form id="forged" method="post" action=%(action)s enctype="application/x-www-form-urlencoded">
  <input type="hidden" name="refresh" value="please">
</form>
<script>document.getElementById("forged").submit();</script>
"""


@contextmanager
def serving_pages(port: int, api_url: str) -> Iterator[str]:
    """Serve the app pages and the forged form on 127.0.0.1:`port`; yield the base URL."""
    pages = {
        APP_PATH: APP_PAGE % {"api": json.dumps(api_url)},
        FORM_PATH: FORM_PAGE % {"action": json.dumps(api_url + "/api/v1/auth/browser/refresh")},
        PASSKEY_PATH: PASSKEY_PAGE % {"api": json.dumps(api_url)},
    }

    class Pages(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = pages.get(self.path)
            body = (page or "not found").encode()
            self.send_response(200 if page else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
