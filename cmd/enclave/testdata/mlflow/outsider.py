"""Someone with no role in the project: its runs, experiments and models do
not exist for them — RESOURCE_DOES_NOT_EXIST, never PERMISSION_DENIED, which
would confirm the ID — whether asked through the project's tracking URI or
through that of a project they do work in. Prints OK at the end.

Environment (besides those in common.py):
  MLFLOW_TRACKING_URI          the data scientist's project (where the outsider has no role)
  MLFLOW_TRACKING_TOKEN        the outsider's token
  OUTSIDER_OWN_TRACKING_URI    optional: a project where the outsider is a data scientist
  COMPAT_RUN_ID, COMPAT_EXPERIMENT_ID, COMPAT_EXPERIMENT, COMPAT_MODEL   what compat.py made

With ENCLAVE_MLFLOW_REFERENCE=1 (a stock `mlflow server --app-name basic-auth`
where the outsider has NO_PERMISSIONS) PERMISSION_DENIED is accepted where
Enclave must say RESOURCE_DOES_NOT_EXIST: stock MLflow does reveal the ID.
"""

import os
import uuid

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from common import REFERENCE, check, env, expect_error_in, raw, step, tracking_uri

HIDDEN = ("RESOURCE_DOES_NOT_EXIST", "PERMISSION_DENIED") if REFERENCE else ("RESOURCE_DOES_NOT_EXIST",)
run_id = env("COMPAT_RUN_ID")
exp_id = env("COMPAT_EXPERIMENT_ID")
exp_name = env("COMPAT_EXPERIMENT")
model = env("COMPAT_MODEL")
victim_uri = tracking_uri()
own_uri = os.environ.get("OUTSIDER_OWN_TRACKING_URI", "").rstrip("/")


def invisible(uri, where):
    """The victim's run, experiment and model do not exist as seen through uri."""
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri)
    expect_error_in(HIDDEN, f"{where}: get_run", client.get_run, run_id)
    expect_error_in(HIDDEN, f"{where}: get_metric_history", client.get_metric_history, run_id, "loss")
    try:
        e = client.get_experiment(exp_id)
        check(e.name != exp_name, f"{where}: get_experiment returned the project's experiment", e)
    except MlflowException as err:
        check(err.error_code in HIDDEN, f"{where}: get_experiment error_code", err.error_code)
    try:
        e = client.get_experiment_by_name(exp_name)
        check(e is None or e.experiment_id != exp_id, f"{where}: get_experiment_by_name found it", e)
    except MlflowException as err:
        check(err.error_code in HIDDEN, f"{where}: get_experiment_by_name error_code", err.error_code)
    try:
        runs = client.search_runs([exp_id])
        check(run_id not in [r.info.run_id for r in runs], f"{where}: search_runs found the run")
    except MlflowException as err:
        check(err.error_code in HIDDEN, f"{where}: search_runs error_code", err.error_code)
    # Writes to the run: the same answer as for a run that does not exist.
    expect_error_in(HIDDEN, f"{where}: log_metric", client.log_metric, run_id, "outsider", 1.0)
    expect_error_in(HIDDEN, f"{where}: set_tag", client.set_tag, run_id, "outsider", "x")
    expect_error_in(HIDDEN, f"{where}: update_run", client.set_terminated, run_id, "KILLED")
    try:
        m = client.get_registered_model(model)
        check(False, f"{where}: get_registered_model found the project's model", m)
    except MlflowException as err:
        check(err.error_code in HIDDEN, f"{where}: get_registered_model error_code", err.error_code)
    # Artifacts, through the same prefix.
    art = f"/api/2.0/mlflow-artifacts/artifacts/{exp_id}/{run_id}/artifacts"
    saved = os.environ["MLFLOW_TRACKING_URI"]
    os.environ["MLFLOW_TRACKING_URI"] = uri
    try:
        r = raw("GET", art + "/notes.txt")
        check(r.status_code in (403, 404), f"{where}: artifact download", r.status_code, r.text[:300])
        r = raw("GET", "/api/2.0/mlflow-artifacts/artifacts?path=" + f"{exp_id}/{run_id}/artifacts")
        check(r.status_code in (403, 404) or not r.json().get("files"), f"{where}: artifact list", r.status_code, r.text[:300])
        r = raw("PUT", art + "/outsider.txt", data=b"x", headers={"Content-Type": "text/plain"})
        check(r.status_code in (403, 404), f"{where}: artifact upload", r.status_code, r.text[:300])
    finally:
        os.environ["MLFLOW_TRACKING_URI"] = saved


if own_uri:
    step("the outsider's token works in their own project")
    mlflow.set_tracking_uri(own_uri)
    own = MlflowClient(tracking_uri=own_uri)
    mlflow.set_experiment("outsider-" + uuid.uuid4().hex[:8])
    with mlflow.start_run(run_name="own") as r:
        mlflow.log_metric("m", 1.0)
    check(own.get_run(r.info.run_id).data.metrics == {"m": 1.0}, "the outsider's own run")

step("through the project's URI")
invisible(victim_uri, "project URI")
if not REFERENCE:
    mlflow.set_tracking_uri(victim_uri)
    expect_error_in(("PERMISSION_DENIED", "RESOURCE_DOES_NOT_EXIST"), "create_experiment in the project",
                    MlflowClient(tracking_uri=victim_uri).create_experiment, "outsider-" + uuid.uuid4().hex[:8])
if own_uri:
    step("through the outsider's own project's URI")
    invisible(own_uri, "own project URI")

print("OK")
