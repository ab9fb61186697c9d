"""Drives an MLflow tracking server with the official client and scikit-learn,
as a data scientist would, and checks every answer. Exits non-zero at the
first failed expectation; prints OK at the end.

Environment (besides those in common.py):
  COMPAT_EXPERIMENT     experiment name (default compat-<random>)
  COMPAT_MODEL          registered model name (default compat-model-<random>)
  ENCLAVE_DATASET_URL   the dataset version URL logged as the run's training input
  COMPAT_RESULT_FILE    where to write the IDs the caller checks afterwards (JSON)
  COMPAT_EXPECT_USER    optional: the run's user_id and mlflow.user tag must be this
                        name (Enclave records the authenticated principal, whatever
                        the client claims)
"""

import hashlib
import json
import math
import os
import tempfile
import time
import uuid

import mlflow
import numpy as np
import pandas as pd
import sklearn
from mlflow import MlflowClient
from mlflow.entities import LoggedModelStatus, Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository
from sklearn.linear_model import LogisticRegression

from common import (REFERENCE, check, env, error_code_of, expect_error, expect_error_in, fail, quote, raw,
                    step, tracking_uri, write_result)

INVALID = "INVALID_PARAMETER_VALUE"
MISSING = "RESOURCE_DOES_NOT_EXIST"
MAX_FLOAT = 1.7976931348623157e308
MiB = 1024 * 1024

suffix = uuid.uuid4().hex[:8]
EXPERIMENT = os.environ.get("COMPAT_EXPERIMENT") or "compat-" + suffix
MODEL = os.environ.get("COMPAT_MODEL") or "compat-model-" + suffix
DATASET_URL = os.environ.get("ENCLAVE_DATASET_URL") or (
    "http://127.0.0.1:1/api/v1/zones/z/projects/p/datasets/train/versions/1" if REFERENCE else env("ENCLAVE_DATASET_URL"))

mlflow.set_tracking_uri(tracking_uri())
client = MlflowClient()

X = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1], [0.1, 0.8], [0.8, 0.3]])
y = np.array([0, 1, 0, 1, 0, 1])

step(f"experiment {EXPERIMENT}")
exp = mlflow.set_experiment(EXPERIMENT)
exp_id = exp.experiment_id
check(isinstance(exp_id, str) and exp_id != "", "experiment id", exp_id)
check(exp.name == EXPERIMENT and exp.lifecycle_stage == "active", "set_experiment", exp)
check(client.get_experiment_by_name(EXPERIMENT).experiment_id == exp_id, "get_experiment_by_name")
check(mlflow.set_experiment(EXPERIMENT).experiment_id == exp_id, "set_experiment again made a new experiment")
found = client.search_experiments(filter_string=f"name = '{EXPERIMENT}'")
check([e.experiment_id for e in found] == [exp_id], "search_experiments by name", found)
expect_error("RESOURCE_ALREADY_EXISTS", "create_experiment of an existing name", client.create_experiment, EXPERIMENT)


# Counts what the client does for multipart uploads (and whether it fell back
# to a single PUT because the server said it does not support them).
mpu = {"create": 0, "parts": [], "complete": 0, "abort": 0, "fallback": 0}
_orig_create = HttpArtifactRepository.create_multipart_upload
_orig_complete = HttpArtifactRepository.complete_multipart_upload
_orig_abort = HttpArtifactRepository.abort_multipart_upload
_orig_part = HttpArtifactRepository._upload_part
_orig_try = HttpArtifactRepository._try_multipart_upload


def _create(self, *a, **kw):
    mpu["create"] += 1
    return _orig_create(self, *a, **kw)


def _complete(self, *a, **kw):
    mpu["complete"] += 1
    return _orig_complete(self, *a, **kw)


def _abort(self, *a, **kw):
    mpu["abort"] += 1
    return _orig_abort(self, *a, **kw)


def _part(credential, local_file, size, start_byte):
    mpu["parts"].append((credential.part_number, start_byte, size))
    return _orig_part(credential, local_file, size, start_byte)


def _try(self, *a, **kw):
    try:
        return _orig_try(self, *a, **kw)
    except Exception as e:
        if type(e).__name__ == "_UnsupportedMultipartUploadException":
            mpu["fallback"] += 1
        raise


HttpArtifactRepository.create_multipart_upload = _create
HttpArtifactRepository.complete_multipart_upload = _complete
HttpArtifactRepository.abort_multipart_upload = _abort
HttpArtifactRepository._upload_part = staticmethod(_part)
HttpArtifactRepository._try_multipart_upload = _try

BATCH_METRICS = [Metric("batch_m", float(i), 1_700_000_000_000 + i, i) for i in range(10)]
work = tempfile.mkdtemp(prefix="compat-")

step("run train: params, metrics, tags, batches")
with mlflow.start_run(run_name="train") as run:
    run_id = run.info.run_id
    check(run.info.experiment_id == exp_id and run.info.status == "RUNNING", "start_run", run.info)
    check(run.info.artifact_uri.startswith("mlflow-artifacts:/") or "/mlflow-artifacts/artifacts/" in run.info.artifact_uri,
          "artifact_uri of a run (the client must proxy artifacts through the server)", run.info.artifact_uri)
    mlflow.log_param("alpha", 0.5)
    mlflow.log_params({"solver": "lbfgs", "max_iter": 100})
    mlflow.log_param("alpha", "0.5")  # the same value again is allowed
    for i in range(5):
        mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
    mlflow.log_metrics({"acc": 0.9, "f1": 0.8})
    mlflow.set_tag("team", "oncology")
    mlflow.set_tags({"stage": "dev", "note": "ünïcödé ✓"})
    # A batch, and the same batch again as a client retrying after a lost answer would send it.
    for _ in range(2):
        client.log_batch(run_id, metrics=BATCH_METRICS, params=[Param("bp", "1")], tags=[RunTag("bt", "x")])
    mlflow.log_metric("nan", float("nan"))
    mlflow.log_metric("pinf", float("inf"))
    mlflow.log_metric("ninf", float("-inf"))

    step("run train: artifacts")
    notes = os.path.join(work, "notes.txt")
    with open(notes, "w") as f:
        f.write("hello artifacts\n")
    mlflow.log_artifact(notes)
    mlflow.log_artifact(notes, artifact_path="sub/dir")
    mlflow.log_text("some text", "text/a.txt")
    mlflow.log_dict({"k": 1, "nested": {"list": [1, 2]}}, "d.json")

    step("run train: multipart upload of 12 MiB in 5 MiB parts")
    big = os.path.join(work, "blob.bin")
    with open(big, "wb") as f:
        f.write(os.urandom(12 * MiB))
    with open(big, "rb") as f:
        big_sha = hashlib.sha256(f.read()).hexdigest()
    saved = {k: os.environ.get(k) for k in ("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD",
                                            "MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", "MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE")}
    # 5 MiB is the smallest part S3 accepts (all but the last); the HTTP client checks nothing.
    os.environ.update({"MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD": "true",
                       "MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE": str(5 * MiB),
                       "MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE": str(5 * MiB)})
    try:
        mlflow.log_artifact(big, artifact_path="big")
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    print("multipart:", json.dumps(mpu), flush=True)
    if mpu["fallback"]:
        check(REFERENCE, "the server refused multipart upload as unsupported; the client fell back to one PUT", mpu)
        print("(the reference server has no multipart upload for local storage: the client used one PUT)")
    else:
        check(mpu["create"] == 1 and mpu["complete"] == 1 and mpu["abort"] == 0, "multipart create/complete", mpu)
        check(sorted(p[0] for p in mpu["parts"]) == [1, 2, 3], "three parts numbered 1..3", mpu)

    step("run train: dataset input")
    df = pd.DataFrame(X, columns=["a", "b"])
    df["label"] = y
    ds = mlflow.data.from_pandas(df, source=DATASET_URL, name="train", targets="label")
    mlflow.log_input(ds, context="training")

    step("run train: scikit-learn model, registered")
    model = LogisticRegression().fit(X, y)
    check(list(model.predict(X)) == list(y), "the model does not fit its own training data")
    # Explicit requirements: inferring them loads the model in a subprocess, which
    # takes seconds and has nothing to do with the server.
    info = mlflow.sklearn.log_model(model, name="model", registered_model_name=MODEL, input_example=X[:2],
                                    pip_requirements=[f"scikit-learn=={sklearn.__version__}", f"mlflow=={mlflow.__version__}"])
    check(str(info.registered_model_version) == "1", "first registered version", info.registered_model_version)
    check(info.model_id and info.model_uri == f"models:/{info.model_id}", "logged model", info.model_uri, info.model_id)

step("runs second and broken")
with mlflow.start_run(run_name="second") as r2:
    mlflow.log_metric("acc", 0.5)
    mlflow.log_param("alpha", 0.1)
    mlflow.set_tag("team", "oncology")
second_id = r2.info.run_id
broken = mlflow.start_run(run_name="broken")
broken_id = broken.info.run_id
mlflow.log_metric("acc", 0.7)
mlflow.log_param("alpha", 0.9)
mlflow.end_run(status="FAILED")
# Logging to a finished run is allowed (evaluation after training).
client.log_metric(run_id, "eval_acc", 0.85)

step("read back the run")
got = client.get_run(run_id)
d = got.data
check(got.info.status == "FINISHED" and got.info.end_time and got.info.run_name == "train", "run info", got.info)
check(got.info.lifecycle_stage == "active" and got.info.experiment_id == exp_id, "run info", got.info)
check(d.params == {"alpha": "0.5", "solver": "lbfgs", "max_iter": "100", "bp": "1"}, "params", d.params)
for k, v in {"loss": 0.2, "acc": 0.9, "f1": 0.8, "batch_m": 9.0, "eval_acc": 0.85}.items():
    check(d.metrics.get(k) == v, f"metric {k}", d.metrics.get(k))
check(math.isnan(d.metrics["nan"]), "NaN metric", d.metrics.get("nan"))
check(d.metrics["pinf"] == MAX_FLOAT, "+Inf metric reads back as the largest double", d.metrics.get("pinf"))
check(d.metrics["ninf"] == -MAX_FLOAT, "-Inf metric reads back as the most negative double", d.metrics.get("ninf"))
for k, v in {"team": "oncology", "stage": "dev", "bt": "x", "note": "ünïcödé ✓", "mlflow.runName": "train"}.items():
    check(d.tags.get(k) == v, f"tag {k}", d.tags.get(k))
if os.environ.get("COMPAT_EXPECT_USER"):
    user = os.environ["COMPAT_EXPECT_USER"]
    check(got.info.user_id == user and d.tags.get("mlflow.user") == user, "the run's user",
          got.info.user_id, d.tags.get("mlflow.user"))
hist = client.get_metric_history(run_id, "loss")
check([(m.step, m.value) for m in hist] == [(i, 1.0 / (i + 1)) for i in range(5)], "loss history", hist)
hist = client.get_metric_history(run_id, "batch_m")
check(sorted((m.step, m.value, m.timestamp) for m in hist) == sorted((m.step, m.value, m.timestamp) for m in BATCH_METRICS),
      "the retried log_batch duplicated or lost metric history", len(hist))
hist = client.get_metric_history(run_id, "nan")
check(len(hist) == 1 and math.isnan(hist[0].value), "NaN in the metric history", hist)

inputs = got.inputs.dataset_inputs
check(len(inputs) == 1, "one dataset input", inputs)
dsi = inputs[0]
check(dsi.dataset.name == "train" and dsi.dataset.digest == ds.digest, "dataset", dsi.dataset)
check(dsi.dataset.source_type == "http" and json.loads(dsi.dataset.source).get("url") == DATASET_URL,
      "dataset source", dsi.dataset.source_type, dsi.dataset.source)
check({t.key: t.value for t in dsi.tags}.get("mlflow.data.context") == "training", "dataset input context", dsi.tags)
outs = [o.model_id for o in (got.outputs.model_outputs if got.outputs else [])]
check(info.model_id in outs, "the run's model outputs", outs)
lm = client.get_logged_model(info.model_id)
check(lm.source_run_id == run_id and lm.experiment_id == exp_id and lm.status == LoggedModelStatus.READY, "logged model", lm)

step("artifacts: list, download")
root = {a.path: a for a in client.list_artifacts(run_id)}
check(set(root) == {"notes.txt", "sub", "text", "d.json", "big"}, "root artifacts", sorted(root))
check(root["sub"].is_dir and not root["notes.txt"].is_dir and root["notes.txt"].file_size == 16, "artifact entries", root)
sub = client.list_artifacts(run_id, "sub/dir")
check([(a.path, a.is_dir, a.file_size) for a in sub] == [("sub/dir/notes.txt", False, 16)], "list sub/dir", sub)
check([a.path for a in client.list_artifacts(run_id, "sub")] == ["sub/dir"], "list sub")
check(client.list_artifacts(run_id, "notes.txt") == [], "listing a file lists nothing")
bigs = client.list_artifacts(run_id, "big")
check([(a.path, a.file_size) for a in bigs] == [("big/blob.bin", 12 * MiB)], "list big", bigs)
dl = tempfile.mkdtemp(prefix="compat-dl-")
with open(client.download_artifacts(run_id, "notes.txt", dl)) as f:
    check(f.read() == "hello artifacts\n", "downloaded notes.txt")
subdir = client.download_artifacts(run_id, "sub", dl)
with open(os.path.join(subdir, "dir", "notes.txt")) as f:
    check(f.read() == "hello artifacts\n", "downloaded directory sub")
check(mlflow.artifacts.load_text(f"runs:/{run_id}/text/a.txt") == "some text", "load_text")
check(mlflow.artifacts.load_dict(f"runs:/{run_id}/d.json") == {"k": 1, "nested": {"list": [1, 2]}}, "load_dict")
with open(client.download_artifacts(run_id, "big/blob.bin", dl), "rb") as f:
    check(hashlib.sha256(f.read()).hexdigest() == big_sha, "the 12 MiB artifact came back different")

step("search runs")


def ids(runs):
    return [r.info.run_id for r in runs]


names = {run_id: "train", second_id: "second", broken_id: "broken"}


def search(flt, order=None, want=None, ordered=False):
    runs = client.search_runs([exp_id], filter_string=flt, order_by=order)
    got = ids(runs)
    if ordered:
        check(got == want, f"search {flt!r} order {order}", [names.get(i, i) for i in got], [names.get(i, i) for i in want])
    else:
        check(sorted(got) == sorted(want), f"search {flt!r}", [names.get(i, i) for i in got], [names.get(i, i) for i in want])


search("", want=[run_id, second_id, broken_id])
search("metrics.acc > 0.6 and params.alpha = '0.5'", want=[run_id])
search("metrics.acc >= 0.5", want=[run_id, second_id, broken_id])
search("metrics.loss < 0.3", want=[run_id])
search("params.alpha != '0.5'", want=[second_id, broken_id])
search('params.alpha = "0.1"', want=[second_id])
search("tags.team = 'oncology'", want=[run_id, second_id])
search("tags.`mlflow.runName` = 'broken'", want=[broken_id])
search("attributes.status = 'FINISHED'", want=[run_id, second_id])
search("attributes.status = 'FAILED'", want=[broken_id])
search("run_name LIKE 'tr%'", want=[run_id])
search("attributes.run_name ILIKE 'SEC%'", want=[second_id])
search(f"attributes.run_id IN ('{run_id}', '{broken_id}')", want=[run_id, broken_id])
search("attributes.start_time > 0 and metrics.acc <= 0.7", want=[second_id, broken_id])
search("params.alpha = 'x'' OR ''1''=''1'", want=[])
search("", ["metrics.acc DESC"], [run_id, broken_id, second_id], ordered=True)
search("", ["metrics.acc ASC"], [second_id, broken_id, run_id], ordered=True)
search("", ["params.alpha ASC"], [second_id, run_id, broken_id], ordered=True)
search("", ["attributes.start_time DESC"], [broken_id, second_id, run_id], ordered=True)
search("", ["attributes.run_name"], [broken_id, second_id, run_id], ordered=True)
runs = mlflow.search_runs(experiment_ids=[exp_id], filter_string="metrics.acc > 0.6", order_by=["metrics.acc DESC"])
check(list(runs["run_id"]) == [run_id, broken_id], "mlflow.search_runs (pandas)", list(runs["run_id"]))
check(list(runs["params.alpha"]) == ["0.5", "0.9"], "search_runs params column", list(runs["params.alpha"]))

step("search runs: pagination")
walked, token, pages = [], None, 0
while True:
    page = client.search_runs([exp_id], max_results=1, order_by=["attributes.start_time ASC"], page_token=token)
    pages += 1
    check(len(page) <= 1 and pages <= 5, "page size", len(page), pages)
    walked += ids(page)
    token = page.token
    if not token:
        break
check(walked == [run_id, second_id, broken_id], "pagination walk", [names.get(i, i) for i in walked])

step("search runs: refused filters")
for bad in ["metrics.acc >>> 1", "foo.bar = 1", "params.a = 'x' OR 1=1", "metrics.acc > 0.5; DROP TABLE runs",
            "params.alpha = '0.5' --", "metrics.acc > 'abc'", "attributes.nonexistent = 'x'"]:
    expect_error(INVALID, f"search filter {bad!r}", client.search_runs, [exp_id], filter_string=bad)
expect_error(INVALID, "search order_by sideways", client.search_runs, [exp_id], order_by=["metrics.acc SIDEWAYS"])

step("registry")
mv1 = client.get_model_version(MODEL, "1")
check(mv1.run_id == run_id and mv1.status == "READY" and mv1.current_stage == "None", "model version 1", mv1)
check(mv1.source in (info.model_uri, info.artifact_path) or mv1.source.startswith("models:/"), "version source", mv1.source)
mv2 = mlflow.register_model(info.model_uri, MODEL)
check(str(mv2.version) == "2" and mv2.run_id == run_id, "second version", mv2)
client.set_registered_model_alias(MODEL, "champion", "1")
client.set_registered_model_alias(MODEL, "challenger", "2")
client.delete_registered_model_alias(MODEL, "challenger")
check(client.get_registered_model(MODEL).aliases == {"champion": "1"}, "aliases", client.get_registered_model(MODEL).aliases)
check(client.get_model_version_by_alias(MODEL, "champion").version == "1", "champion")
expect_error_in((MISSING, INVALID), "a deleted alias", client.get_model_version_by_alias, MODEL, "challenger")
check(client.transition_model_version_stage(MODEL, "1", "Staging").current_stage == "Staging", "to Staging")
check(client.get_model_version(MODEL, "1").current_stage == "Staging", "v1 Staging")
client.transition_model_version_stage(MODEL, "1", "Production")
client.transition_model_version_stage(MODEL, "2", "Production", archive_existing_versions=True)
check(client.get_model_version(MODEL, "1").current_stage == "Archived", "v1 archived by v2's promotion")
check(client.get_model_version(MODEL, "2").current_stage == "Production", "v2 Production")
latest = client.get_latest_versions(MODEL, stages=["Production"])
check([(v.version, v.current_stage) for v in latest] == [("2", "Production")], "latest Production", latest)
latest = sorted((v.version, v.current_stage) for v in client.get_latest_versions(MODEL))
check(latest == [("1", "Archived"), ("2", "Production")], "latest per stage", latest)
expect_error(INVALID, "an unknown stage", client.transition_model_version_stage, MODEL, "1", "Sideways")
rms = client.search_registered_models(filter_string=f"name='{MODEL}'")
check([m.name for m in rms] == [MODEL], "search_registered_models by name", rms)
check(MODEL in [m.name for m in client.search_registered_models(filter_string=f"name LIKE '{MODEL[:8]}%'")], "LIKE")
mvs = client.search_model_versions(f"name='{MODEL}'")
check(sorted(v.version for v in mvs) == ["1", "2"], "search_model_versions", mvs)
mvs = client.search_model_versions(f"run_id='{run_id}'")
check(sorted((v.name, v.version) for v in mvs) == [(MODEL, "1"), (MODEL, "2")], "search_model_versions by run", mvs)
expect_error(MISSING, "get_registered_model of an unknown name", client.get_registered_model, "nope-" + suffix)
expect_error(MISSING, "get_model_version 99", client.get_model_version, MODEL, "99")

step("load the champion and predict")
loaded = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion")
pred = loaded.predict(X)
check(list(pred) == list(y), "champion's predictions", list(pred))

step("bad input")
expect_error(MISSING, "get_run of an unknown id", client.get_run, uuid.uuid4().hex)
expect_error(MISSING, "get_experiment of an unknown id", client.get_experiment, "987654321")
expect_error(INVALID, "a param key of 300 characters", client.log_param, run_id, "k" * 300, "v")
expect_error(INVALID, "changing a param's value", client.log_param, run_id, "alpha", "0.7")
check(client.get_run(run_id).data.params["alpha"] == "0.5", "a refused param change changed it")
store = client._tracking_client.store  # the REST store: one request, no client-side chunking
too_many = [Metric("m", float(i), 1_700_000_000_000, i) for i in range(1001)]
expect_error(INVALID, "log_batch of 1001 metrics in one request", store.log_batch, run_id, too_many, [], [])
check(client.get_metric_history(run_id, "m") == [], "a refused batch was partly applied")

# The server checks what the client would have checked.
api = "/api/2.0/mlflow"
r = raw("POST", api + "/runs/log-parameter", json_body={"run_id": run_id, "key": "k" * 300, "value": "v"})
check(r.status_code == 400 and error_code_of(r) == INVALID, "raw log-parameter of a 300-character key", r.status_code, r.text[:300])
r = raw("POST", api + "/runs/log-metric", json_body={"run_id": run_id, "key": "m", "value": "abc", "timestamp": 1, "step": 0})
check(r.status_code == 400 and error_code_of(r) == INVALID, "raw log-metric of a non-number", r.status_code, r.text[:300])
r = raw("POST", api + "/runs/log-metric", data=b"{not json", headers={"Content-Type": "application/json"})
check(r.status_code == 400 and error_code_of(r) in (INVALID, "BAD_REQUEST", "MALFORMED_REQUEST"), "raw malformed JSON",
      r.status_code, r.text[:300])
r = raw("GET", api + "/runs/get?run_id=" + uuid.uuid4().hex)
check(r.status_code == 404 and error_code_of(r) == MISSING, "raw get of an unknown run", r.status_code, r.text[:300])

step("artifact paths that leave the run are refused")
art = f"/api/2.0/mlflow-artifacts/artifacts/{exp_id}/{run_id}/artifacts"
escapes = ["/../../other/evil.txt", "/%2e%2e/%2e%2e/other/evil.txt", "/%2E%2E/%2E%2E/other/evil.txt",
           "/..%2f..%2fother%2fevil.txt", "/..%2F..%2Fother%2Fevil.txt", "/../evil.txt", "/sub/../../evil.txt"]
for e in escapes:
    r = raw("PUT", art + e, data=b"evil", headers={"Content-Type": "text/plain"})
    check(400 <= r.status_code < 500, f"PUT {e}", r.status_code, r.text[:300])
    r = raw("GET", art + e)
    check(400 <= r.status_code < 500, f"GET {e}", r.status_code, r.text[:300])
r = raw("GET", "/api/2.0/mlflow-artifacts/artifacts?path=" + quote(f"{exp_id}/{run_id}/artifacts/../../other"))
check(400 <= r.status_code < 500 or r.json().get("files") in (None, []), "list ..", r.status_code, r.text[:300])
if not REFERENCE:
    # A client or proxy that resolves the dots itself sends these: still outside
    # the run's artifacts, and Enclave keeps artifacts only under runs and models.
    for p in [f"{exp_id}/other/evil.txt", f"{exp_id}/{run_id}/evil.txt", "other/evil.txt", f"{exp_id}/evil.txt"]:
        r = raw("PUT", "/api/2.0/mlflow-artifacts/artifacts/" + p, data=b"evil", headers={"Content-Type": "text/plain"})
        check(400 <= r.status_code < 500, f"PUT outside a run's artifacts: {p}", r.status_code, r.text[:300])
for p in [f"{exp_id}/other/evil.txt", f"{exp_id}/{run_id}/evil.txt", "other/evil.txt", f"{exp_id}/evil.txt"]:
    r = raw("GET", "/api/2.0/mlflow-artifacts/artifacts/" + p)
    check(r.status_code != 200 or r.content != b"evil", f"an escape wrote {p}")
check(set(a.path for a in client.list_artifacts(run_id)) == set(root), "an escape wrote into the run",
      [a.path for a in client.list_artifacts(run_id)])

write_result({"experiment": EXPERIMENT, "experiment_id": exp_id, "run_id": run_id, "second_run_id": second_id,
              "broken_run_id": broken_id, "model": MODEL, "model_id": info.model_id, "dataset_url": DATASET_URL})
print("OK")
