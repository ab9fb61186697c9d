"""Helpers shared by the MLflow compatibility scripts (compat.py, reader.py,
outsider.py, basic_auth.py).

The scripts drive a tracking server with the official `mlflow` client and
exit non-zero, with a message on stderr, at the first failed expectation.
They read what they need from the environment:

  MLFLOW_TRACKING_URI          the server, e.g. https://127.0.0.1:PORT/mlflow/ZONE/PROJECT
  MLFLOW_TRACKING_TOKEN        a bearer token (or MLFLOW_TRACKING_USERNAME and
                               MLFLOW_TRACKING_PASSWORD for Basic authentication)
  MLFLOW_TRACKING_SERVER_CERT_PATH, REQUESTS_CA_BUNDLE
                               the CA certificate, for a server with the local CA
  ENCLAVE_MLFLOW_REFERENCE=1   the server is a stock `mlflow server`: skip what only
                               Enclave does (roles, lineage, stricter artifact paths)

Raw HTTP requests (for what the client cannot be made to send) go through
`requests` with the client's own credentials and the same CA.
"""

import base64
import json
import os
import sys
import urllib.parse

import time
import warnings

import requests
from mlflow.exceptions import MlflowException

# Model registry stages are deprecated in the client, not gone: the scripts use them on purpose.
warnings.filterwarnings("ignore", category=FutureWarning)
_start = time.monotonic()

REFERENCE = os.environ.get("ENCLAVE_MLFLOW_REFERENCE") == "1"


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def step(msg):
    print(f"== {time.monotonic() - _start:5.1f}s {msg}", flush=True)


def env(name, default=None):
    v = os.environ.get(name, default)
    if v is None or v == "":
        fail(f"environment variable {name} is not set")
    return v


def check(cond, msg, *detail):
    if not cond:
        if detail:
            msg += ": " + " ".join(repr(d) for d in detail)
        fail(msg)


def expect_error(code, what, fn, *args, **kwargs):
    """Calls fn and expects an MlflowException with error_code code."""
    try:
        got = fn(*args, **kwargs)
    except MlflowException as e:
        if e.error_code != code:
            fail(f"{what}: error_code {e.error_code}, want {code} ({e.message[:300]})")
        return e
    fail(f"{what}: succeeded ({str(got)[:200]}), want {code}")


def expect_error_in(codes, what, fn, *args, **kwargs):
    """Calls fn and expects an MlflowException with one of codes."""
    try:
        got = fn(*args, **kwargs)
    except MlflowException as e:
        if e.error_code not in codes:
            fail(f"{what}: error_code {e.error_code}, want one of {codes} ({e.message[:300]})")
        return e
    fail(f"{what}: succeeded ({str(got)[:200]}), want one of {codes}")


def tracking_uri():
    return env("MLFLOW_TRACKING_URI").rstrip("/")


def auth_headers():
    """The Authorization header the mlflow client sends (Basic wins over a token)."""
    user, pw = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if user and pw:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()}
    tok = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if tok:
        return {"Authorization": "Bearer " + tok}
    return {}


def verify():
    return os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH") or os.environ.get("REQUESTS_CA_BUNDLE") or True


def raw(method, path, data=None, json_body=None, headers=None, auth=True):
    """Sends one request to tracking_uri()+path exactly as written: `requests`
    would remove dot segments from the path, so the prepared URL is put back."""
    url = tracking_uri() + path
    h = dict(auth_headers() if auth else {})
    h.update(headers or {})
    prep = requests.Request(method, url, data=data, json=json_body, headers=h).prepare()
    prep.url = url
    with requests.Session() as s:
        return s.send(prep, verify=verify(), timeout=60)


def error_code_of(resp):
    try:
        body = resp.json()
    except ValueError:
        return None
    return body.get("error_code") if isinstance(body, dict) else None


def quote(s):
    return urllib.parse.quote(s, safe="")


def write_result(values):
    """Writes what the Go test needs (IDs) to $COMPAT_RESULT_FILE, if set."""
    path = os.environ.get("COMPAT_RESULT_FILE")
    if path:
        with open(path, "w") as f:
            json.dump(values, f)
    print("RESULT " + json.dumps(values), flush=True)
