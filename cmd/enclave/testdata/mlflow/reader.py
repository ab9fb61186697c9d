"""A reader of the project: reads the data scientist's run, and every write
is refused with PERMISSION_DENIED, artifacts included. Prints OK at the end.

Environment (besides those in common.py):
  MLFLOW_TRACKING_TOKEN   the reader's token
  COMPAT_RUN_ID, COMPAT_EXPERIMENT_ID, COMPAT_MODEL   what compat.py made

With ENCLAVE_MLFLOW_REFERENCE=1 (a stock `mlflow server --app-name basic-auth`
with the reader given READ) the checks stock MLflow cannot express are
skipped: it lets any user create experiments and models, and READ download
artifacts.
"""

import os
import tempfile
import uuid

import mlflow
from mlflow import MlflowClient

from common import REFERENCE, check, env, error_code_of, expect_error, expect_error_in, raw, step, tracking_uri

DENIED = "PERMISSION_DENIED"
run_id = env("COMPAT_RUN_ID")
exp_id = env("COMPAT_EXPERIMENT_ID")
model = env("COMPAT_MODEL")

mlflow.set_tracking_uri(tracking_uri())
client = MlflowClient()

step("reads")
run = client.get_run(run_id)
check(run.info.run_id == run_id and run.data.params.get("alpha") == "0.5", "get_run", run.info, run.data.params)
check(client.get_experiment(exp_id).experiment_id == exp_id, "get_experiment")
runs = client.search_runs([exp_id], filter_string="params.alpha = '0.5'")
check([r.info.run_id for r in runs] == [run_id], "search_runs", [r.info.run_id for r in runs])
check(len(client.get_metric_history(run_id, "loss")) == 5, "get_metric_history")
check(client.get_registered_model(model).name == model, "get_registered_model")
check(client.get_model_version_by_alias(model, "champion").version == "1", "get_model_version_by_alias")

step("writes are refused")
expect_error(DENIED, "log_metric", client.log_metric, run_id, "reader_metric", 1.0)
expect_error(DENIED, "set_tag", client.set_tag, run_id, "reader_tag", "x")
expect_error(DENIED, "log_param", client.log_param, run_id, "reader_param", "x")
expect_error(DENIED, "create_run", client.create_run, exp_id)
if not REFERENCE:
    expect_error(DENIED, "create_experiment", client.create_experiment, "reader-" + uuid.uuid4().hex[:8])
    expect_error(DENIED, "create_registered_model", client.create_registered_model, "reader-model-" + uuid.uuid4().hex[:8])
    expect_error(DENIED, "set_registered_model_alias", client.set_registered_model_alias, model, "reader", "1")
check(not any(k.startswith("reader_") for k in {**client.get_run(run_id).data.metrics, **client.get_run(run_id).data.tags}),
      "a refused write was applied", client.get_run(run_id).data)

if not REFERENCE:
    step("artifacts cannot be read or written")
    art = f"/api/2.0/mlflow-artifacts/artifacts/{exp_id}/{run_id}/artifacts"
    r = raw("GET", art + "/notes.txt")
    check(r.status_code == 403 and error_code_of(r) == DENIED, "download of an artifact", r.status_code, r.text[:300])
    # The client swallows the 403 of runs:/ downloads (it then looks for a
    # logged model of that name) and reports RESOURCE_DOES_NOT_EXIST.
    dst = tempfile.mkdtemp(prefix="reader-")
    expect_error_in((DENIED, "RESOURCE_DOES_NOT_EXIST"), "the client's download of an artifact",
                    client.download_artifacts, run_id, "notes.txt", dst)
    check(os.listdir(dst) == [], "a refused download wrote files", os.listdir(dst))
    r = raw("PUT", art + "/reader.txt", data=b"x", headers={"Content-Type": "text/plain"})
    check(r.status_code == 403 and error_code_of(r) == DENIED, "upload of an artifact", r.status_code, r.text[:300])

print("OK")
