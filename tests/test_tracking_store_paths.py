"""The local MLflow store of a results directory whose path needs URL-quoting lives inside that directory and
nowhere else: MLflow's own directory creation once read the store's `file:` URI as a relative path and left a
directory named `file:` in the working directory (in the checkout, after the tests)."""

from __future__ import annotations

import pytest

from genolm.training.tracking import TrackedRun, create_local_store, list_artifacts


@pytest.mark.parametrize("character", [" ", "?", "%20"])
def test_a_local_store_creates_nothing_in_the_working_directory(tmp_path, monkeypatch, character):
    working_directory = tmp_path / "cwd"
    working_directory.mkdir()
    monkeypatch.chdir(working_directory)
    results = tmp_path / f"res{character}ults"
    uri = create_local_store(results)
    run = TrackedRun(tracking_uri=uri, experiment="e", job_dir=results / "job", run_name="r")
    run.log_metrics({"train/loss": 0.5}, step=1)
    run.log_artifact(results / "mlflow" / "mlflow.db.lock", "files")
    run.finish()
    assert [f.path for f in list_artifacts(uri, run.run_id, "files")] == ["files/mlflow.db.lock"]
    assert (results / "mlflow" / "mlflow.db").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["cwd", results.name])
    assert list(working_directory.iterdir()) == []
