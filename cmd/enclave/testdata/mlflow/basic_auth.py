"""The client with MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD
(HTTP Basic) instead of a bearer token: it tracks a run with an artifact,
and a wrong password or no credentials are refused with 401
UNAUTHENTICATED. Prints OK at the end.

Environment (besides those in common.py):
  MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD   the credentials (for
      Enclave: any user name, and an API token as the password)
  COMPAT_EXPERIMENT    optional: the experiment to track into (default basic-<random>)
  COMPAT_RESULT_FILE   optional: where to write the run's ID (JSON)
"""

import os
import tempfile
import uuid

import mlflow
from mlflow import MlflowClient

from common import REFERENCE, check, env, error_code_of, expect_error, raw, step, tracking_uri, write_result

env("MLFLOW_TRACKING_USERNAME")
password = env("MLFLOW_TRACKING_PASSWORD")
os.environ.pop("MLFLOW_TRACKING_TOKEN", None)  # Basic only

mlflow.set_tracking_uri(tracking_uri())
client = MlflowClient()

step("track a run with Basic authentication")
exp = mlflow.set_experiment(os.environ.get("COMPAT_EXPERIMENT") or "basic-" + uuid.uuid4().hex[:8])
with mlflow.start_run(run_name="basic") as run:
    mlflow.log_param("auth", "basic")
    mlflow.log_metric("m", 0.25, step=1)
    mlflow.log_text("basic auth artifact", "basic.txt")
got = client.get_run(run.info.run_id)
check(got.data.params == {"auth": "basic"} and got.data.metrics == {"m": 0.25}, "the run", got.data)
check([a.path for a in client.list_artifacts(run.info.run_id)] == ["basic.txt"], "artifacts")
check(mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/basic.txt") == "basic auth artifact", "artifact content")
runs = client.search_runs([exp.experiment_id], filter_string="params.auth = 'basic'")
check(run.info.run_id in [r.info.run_id for r in runs], "search_runs")

step("wrong or missing credentials are refused")
os.environ["MLFLOW_TRACKING_PASSWORD"] = password + "-wrong"
try:
    expect_error("UNAUTHENTICATED", "a wrong password", client.get_run, run.info.run_id)
    r = raw("GET", "/api/2.0/mlflow/runs/get?run_id=" + run.info.run_id)
    check(r.status_code == 401, "a wrong password: status", r.status_code, r.text[:300])
    if not REFERENCE:
        check(error_code_of(r) == "UNAUTHENTICATED", "a wrong password: error_code", r.text[:300])
        check("Basic" in r.headers.get("WWW-Authenticate", "") or "Bearer" in r.headers.get("WWW-Authenticate", ""),
              "a 401 names its scheme in WWW-Authenticate", r.headers.get("WWW-Authenticate"))
finally:
    os.environ["MLFLOW_TRACKING_PASSWORD"] = password
r = raw("GET", "/api/2.0/mlflow/runs/get?run_id=" + run.info.run_id, auth=False)
check(r.status_code == 401, "no credentials: status", r.status_code, r.text[:300])
r = raw("GET", f"/api/2.0/mlflow-artifacts/artifacts/{exp.experiment_id}/{run.info.run_id}/artifacts/basic.txt", auth=False)
check(r.status_code == 401, "no credentials, artifact: status", r.status_code, r.text[:300])
check(client.get_run(run.info.run_id).info.run_id == run.info.run_id, "the right password works again")

write_result({"experiment_id": exp.experiment_id, "run_id": run.info.run_id})
print("OK")
