"""Runs train.py as the worker does (a subprocess with the contract's environment) and checks its outputs.

Data comes from the repo's own generator (packages/datagen), so these tests also pin the column
layout the two sides agree on. MLflow logging is covered by the worker's integration tests against a
real server; here MLflow is off.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx.reference import ReferenceEvaluator
from sklearn.metrics import roc_auc_score

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TRAIN_PY = HERE / "train.py"
NON_FEATURES = {"transaction_id", "card_id", "event_time", "label"}


def generate(path: Path, rows: int, seed: int, *flags: str) -> Path:
    tsx = REPO / "node_modules" / ".bin" / "tsx"
    assert tsx.exists(), f"{tsx} is missing: run npm install at the repo root"
    cli = REPO / "packages" / "datagen" / "src" / "cli.ts"
    subprocess.run(
        [str(tsx), str(cli), "--rows", str(rows), "--seed", str(seed), "--out", str(path), *flags],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return path


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def small_csv(data_dir: Path) -> Path:
    return generate(data_dir / "small.csv", 4000, 1)


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, list(reader)


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run_trainer(
    data: Path | None,
    out: Path | None,
    params: dict | str | None = None,
    seed: str | None = "1",
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHEPHERD_", "MLFLOW_"))}
    if data is not None:
        env["SHEPHERD_TRAIN_DATA"] = str(data)
    if out is not None:
        env["SHEPHERD_OUTPUT_DIR"] = str(out)
    if params is not None:
        env["SHEPHERD_PARAMS"] = params if isinstance(params, str) else json.dumps(params)
    if seed is not None:
        env["SHEPHERD_SEED"] = seed
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, str(TRAIN_PY)], env=env, capture_output=True, text=True, timeout=300
    )


def progress_lines(stdout: str) -> list[dict]:
    lines = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    for line in lines:
        assert set(line) <= {"progress", "message"}
        assert 0 <= line["progress"] <= 1
        assert isinstance(line.get("message", ""), str)
    return lines


def score(model_path: Path, features: np.ndarray) -> np.ndarray:
    (probabilities,) = ReferenceEvaluator(str(model_path)).run(["probabilities"], {"features": features})
    return probabilities


def holdout_auc(path: Path, tmp: Path, params: dict | None = None) -> float:
    """Trains on the first 80% of the rows (event-time order) and scores the rest with the ONNX model."""
    header, rows = read_rows(path)
    cut = int(len(rows) * 0.8)
    train = write_csv(tmp / f"{path.stem}-train.csv", header, rows[:cut])
    result = run_trainer(train, tmp / f"{path.stem}-out", params)
    assert result.returncode == 0, result.stderr
    features = [i for i, name in enumerate(header) if name not in NON_FEATURES]
    x = np.array([[float(row[i]) for i in features] for row in rows[cut:]], dtype=np.float32)
    y = np.array([int(row[header.index("label")]) for row in rows[cut:]])
    return float(roc_auc_score(y, score(tmp / f"{path.stem}-out" / "model.onnx", x)[:, 1]))


# --- success ------------------------------------------------------------------------------------


def test_writes_a_result_that_matches_the_contract(small_csv: Path, tmp_path: Path) -> None:
    result = run_trainer(small_csv, tmp_path / "out", {"max_iter": 60})
    assert result.returncode == 0, result.stderr

    header, _ = read_rows(small_csv)
    body = json.loads((tmp_path / "out" / "result.json").read_text())
    assert set(body) <= {"featureNames", "trainingMetrics", "framework", "params"}
    assert body["featureNames"] == [name for name in header if name not in NON_FEATURES]
    assert body["featureNames"][:2] == ["amount", "log_amount"]
    metrics = body["trainingMetrics"]
    assert metrics, "trainingMetrics must not be empty"
    for key, value in metrics.items():
        assert isinstance(key, str) and key
        assert isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value), key
    assert 0.8 < metrics["train_auc"] <= 1
    assert metrics["train_rows"] == 4000
    assert metrics["iterations"] == 60
    assert body["framework"].startswith("scikit-learn ")
    assert body["params"]["max_iter"] == 60
    assert body["params"]["seed"] == 1

    lines = progress_lines(result.stdout)
    fractions = [line["progress"] for line in lines]
    assert fractions == sorted(fractions), "progress must not go backwards"
    assert fractions[0] == 0 and fractions[-1] == 1


def test_onnx_model_has_the_contract_input_and_outputs(small_csv: Path, tmp_path: Path) -> None:
    assert run_trainer(small_csv, tmp_path, {"max_iter": 30}).returncode == 0
    model = onnx.load(str(tmp_path / "model.onnx"))
    onnx.checker.check_model(model, full_check=True)
    feature_count = len(json.loads((tmp_path / "result.json").read_text())["featureNames"])

    def shape(value_info: onnx.ValueInfoProto) -> list[int | None]:
        return [
            d.dim_value if d.HasField("dim_value") else None for d in value_info.type.tensor_type.shape.dim
        ]

    (features,) = model.graph.input
    assert features.name == "features"
    assert features.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert shape(features) == [None, feature_count]
    outputs = {o.name: o for o in model.graph.output}
    assert "probabilities" in outputs
    assert outputs["probabilities"].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert shape(outputs["probabilities"]) == [None, 2]

    x = np.random.default_rng(0).uniform(0, 50, size=(7, feature_count)).astype(np.float32)
    probabilities = score(tmp_path / "model.onnx", x)
    assert probabilities.dtype == np.float32 and probabilities.shape == (7, 2)
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)


def test_same_data_params_and_seed_give_the_same_model_bytes(small_csv: Path, tmp_path: Path) -> None:
    digests = []
    for name in ("a", "b"):
        assert run_trainer(small_csv, tmp_path / name, {"max_iter": 40}, seed="7").returncode == 0
        digests.append(hashlib.sha256((tmp_path / name / "model.onnx").read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def test_learns_from_real_labels_and_not_from_shuffled_ones(data_dir: Path, tmp_path: Path) -> None:
    clean = generate(data_dir / "auc.csv", 20_000, 3)
    shuffled = generate(data_dir / "auc-shuffled.csv", 20_000, 3, "--shuffle-labels")
    assert holdout_auc(clean, tmp_path) > 0.82
    assert 0.4 < holdout_auc(shuffled, tmp_path) < 0.6


def test_logistic_regression_and_validation_split(small_csv: Path, tmp_path: Path) -> None:
    result = run_trainer(
        small_csv, tmp_path, {"model": "logistic_regression", "C": 0.5, "validation_fraction": 0.25}
    )
    assert result.returncode == 0, result.stderr
    body = json.loads((tmp_path / "result.json").read_text())
    metrics = body["trainingMetrics"]
    assert metrics["train_rows"] == 3000 and metrics["validation_rows"] == 1000
    assert 0.6 < metrics["validation_auc"] <= 1
    assert body["params"] == {
        "model": "logistic_regression",
        "C": 0.5,
        "validation_fraction": 0.25,
        "delay_seconds": 0.0,
        "seed": 1,
    }
    assert score(tmp_path / "model.onnx", np.zeros((3, len(body["featureNames"])), np.float32)).shape == (
        3,
        2,
    )


def test_missing_feature_values_train_and_export(small_csv: Path, tmp_path: Path) -> None:
    header, rows = read_rows(small_csv)
    column = header.index("distance_from_home_km")
    for row in rows[::5]:
        row[column] = ""
    data = write_csv(tmp_path / "gaps.csv", header, rows)
    result = run_trainer(data, tmp_path / "out", {"max_iter": 30})
    assert result.returncode == 0, result.stderr
    x = np.full((1, len(header) - len(NON_FEATURES)), np.nan, dtype=np.float32)
    assert np.isfinite(score(tmp_path / "out" / "model.onnx", x)).all()


def test_delay_seconds_reports_progress_while_waiting(small_csv: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_trainer(small_csv, tmp_path, {"max_iter": 10, "delay_seconds": 2.5})
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started >= 2.5
    waiting = [line for line in progress_lines(result.stdout) if "slow mode" in line.get("message", "")]
    assert len(waiting) >= 3


def test_sigterm_mid_training_exits_non_zero_without_a_result(small_csv: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHEPHERD_", "MLFLOW_"))}
    env.update(
        SHEPHERD_TRAIN_DATA=str(small_csv),
        SHEPHERD_OUTPUT_DIR=str(tmp_path),
        SHEPHERD_PARAMS=json.dumps({"delay_seconds": 60}),
        SHEPHERD_SEED="1",
    )
    process = subprocess.Popen(
        [sys.executable, str(TRAIN_PY)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:  # wait until it is in the slow phase
            if "slow mode" in line:
                break
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode != 0
    assert "SIGTERM" in stderr
    assert not (tmp_path / "result.json").exists()
    assert not (tmp_path / "model.onnx").exists()


# --- bad input ----------------------------------------------------------------------------------

HEADER = ["transaction_id", "card_id", "event_time", "amount", "merchant_risk", "label"]


def rows_with(labels: list[object], amount: object = 10.0) -> list[list[object]]:
    return [
        [f"t{i}", "card-1", "2025-01-01T00:00:00Z", amount if i == 0 else i + 1, 0.1, label]
        for i, label in enumerate(labels)
    ]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing file", r"does not exist"),
        ("empty file", r"is empty"),
        ("header only", r"no rows"),
        ("no label column", r"no 'label' column"),
        ("single class", r"single class \(0\)"),
        ("label not 0/1", r"must be 0 or 1; data row 2 has '2'"),
        ("text feature", r"feature column 'amount' must be numeric; data row 1 has 'lots'"),
        ("infinite feature", r"'amount' has infinite values"),
        ("no features", r"no feature columns"),
    ],
)
def test_bad_data_exits_2_with_a_clear_message(case: str, message: str, tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    if case == "empty file":
        data.write_text("")
    elif case == "header only":
        write_csv(data, HEADER, [])
    elif case == "no label column":
        write_csv(data, HEADER[:-1], [row[:-1] for row in rows_with([0, 1])])
    elif case == "single class":
        write_csv(data, HEADER, rows_with([0, 0, 0]))
    elif case == "label not 0/1":
        write_csv(data, HEADER, rows_with([0, 2, 1]))
    elif case == "text feature":
        write_csv(data, HEADER, rows_with([0, 1], amount="lots"))
    elif case == "infinite feature":
        write_csv(data, HEADER, rows_with([0, 1], amount="inf"))
    elif case == "no features":
        write_csv(
            data,
            ["transaction_id", "card_id", "event_time", "label"],
            [["t", "c", "e", 0], ["u", "c", "e", 1]],
        )
    result = run_trainer(data, tmp_path / "out")
    assert result.returncode == 2, result.stderr
    assert "train.py: error:" in result.stderr
    assert re.search(message, result.stderr), result.stderr
    assert not (tmp_path / "out" / "result.json").exists()


@pytest.mark.parametrize(
    ("params", "seed", "message"),
    [
        ("not json", "1", r"SHEPHERD_PARAMS is not valid JSON"),
        ("[1, 2]", "1", r"SHEPHERD_PARAMS must be a JSON object"),
        ({"max_iters": 10}, "1", r"unknown parameter\(s\) max_iters"),
        ({"max_iter": 0}, "1", r"SHEPHERD_PARAMS.max_iter must be an integer >= 1, got 0"),
        ({"max_iter": True}, "1", r"SHEPHERD_PARAMS.max_iter must be an integer >= 1, got true"),
        ({"learning_rate": "fast"}, "1", r"SHEPHERD_PARAMS.learning_rate must be a number"),
        ({"model": "svm"}, "1", r"SHEPHERD_PARAMS.model must be one of"),
        ({"model": "logistic_regression", "max_iter": 5}, "1", r"max_iter does not apply to model"),
        ({}, "one", r"SHEPHERD_SEED must be an integer"),
    ],
)
def test_bad_params_or_seed_exit_2(
    params: object, seed: str, message: str, small_csv: Path, tmp_path: Path
) -> None:
    result = run_trainer(small_csv, tmp_path, params, seed=seed)  # type: ignore[arg-type]
    assert result.returncode == 2
    assert re.search(message, result.stderr), result.stderr


def test_missing_environment_exits_2(small_csv: Path, tmp_path: Path) -> None:
    no_data = run_trainer(None, tmp_path)
    assert no_data.returncode == 2 and "SHEPHERD_TRAIN_DATA is not set" in no_data.stderr
    no_out = run_trainer(small_csv, None)
    assert no_out.returncode == 2 and "SHEPHERD_OUTPUT_DIR is not set" in no_out.stderr
    half_mlflow = run_trainer(small_csv, tmp_path, extra_env={"MLFLOW_RUN_ID": "abc"})
    assert half_mlflow.returncode == 2 and "MLFLOW_TRACKING_URI is not" in half_mlflow.stderr


# --- regression ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def regression_csv(data_dir: Path) -> Path:
    return generate(data_dir / "regression.csv", 4000, 1, "--regression")


def predict(model_path: Path, features: np.ndarray) -> np.ndarray:
    (predictions,) = ReferenceEvaluator(str(model_path)).run(["predictions"], {"features": features})
    return predictions


def features_and_labels(header: list[str], rows: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
    features = [i for i, name in enumerate(header) if name not in NON_FEATURES]
    x = np.array([[float(row[i]) for i in features] for row in rows], dtype=np.float32)
    y = np.array([float(row[header.index("label")]) for row in rows])
    return x, y


def test_regression_writes_predictions_and_error_metrics(regression_csv: Path, tmp_path: Path) -> None:
    result = run_trainer(regression_csv, tmp_path, {"task": "regression", "max_iter": 60})
    assert result.returncode == 0, result.stderr
    body = json.loads((tmp_path / "result.json").read_text())
    metrics = body["trainingMetrics"]
    for key, value in metrics.items():
        assert isinstance(value, (int, float)) and math.isfinite(value), key
    assert metrics["train_rows"] == 4000
    assert metrics["iterations"] == 60
    assert 0 < metrics["train_mae"] < metrics["train_rmse"]
    assert 0 < metrics["train_r2"] <= 1
    assert metrics["onnx_max_rel_diff"] < 1e-4
    assert not any(key.endswith(("_auc", "_logloss")) for key in metrics)
    assert body["params"]["task"] == "regression"
    assert progress_lines(result.stdout)[-1]["message"].startswith("done: train RMSE")

    model = onnx.load(str(tmp_path / "model.onnx"))
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["features"]
    (output,) = model.graph.output
    assert output.name == "predictions"
    assert output.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    dims = output.type.tensor_type.shape.dim
    assert [d.dim_value if d.HasField("dim_value") else None for d in dims] == [None, 1]
    assert {p.key: p.value for p in model.metadata_props}["shepherd.task"] == "regression"

    # The training rows' own RMSE, recomputed from the ONNX model, is what result.json reports.
    header, rows = read_rows(regression_csv)
    x, y = features_and_labels(header, rows)
    predictions = predict(tmp_path / "model.onnx", x)
    assert predictions.dtype == np.float32 and predictions.shape == (len(y), 1)
    rmse = float(np.sqrt(np.mean((predictions[:, 0] - y) ** 2)))
    assert rmse == pytest.approx(metrics["train_rmse"], rel=1e-4)


def test_regression_onnx_matches_scikit_learn(regression_csv: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("shepherd_reference_train", TRAIN_PY)
    assert spec and spec.loader
    train = importlib.util.module_from_spec(spec)
    # Dataclasses look their module up in sys.modules while the class is being created.
    sys.modules[spec.name] = train
    try:
        spec.loader.exec_module(train)
    finally:
        del sys.modules[spec.name]
    params = train.parse_params(json.dumps({"task": "regression", "max_iter": 40}))
    data = train.load_dataset(regression_csv, "regression")
    model = train.build_model(params, 1)
    model.fit(data.features, data.labels)
    converted = train.export_onnx(model, data.feature_names, 1, "regression")
    (onnx_predictions,) = ReferenceEvaluator(converted).run(["predictions"], {"features": data.features})
    expected = model.predict(data.features)
    assert np.allclose(onnx_predictions[:, 0], expected, rtol=1e-5, atol=1e-5)


def test_regression_same_seed_gives_the_same_model_bytes(regression_csv: Path, tmp_path: Path) -> None:
    digests = []
    for name in ("a", "b"):
        params = {"task": "regression", "max_iter": 20}
        assert run_trainer(regression_csv, tmp_path / name, params, seed="7").returncode == 0
        digests.append(hashlib.sha256((tmp_path / name / "model.onnx").read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def holdout_rmse(path: Path, tmp: Path) -> tuple[float, float]:
    """Trains on the first 80% of the rows; returns the ONNX model's and the train mean's RMSE on the rest."""
    header, rows = read_rows(path)
    cut = int(len(rows) * 0.8)
    train = write_csv(tmp / f"{path.stem}-train.csv", header, rows[:cut])
    result = run_trainer(train, tmp / f"{path.stem}-out", {"task": "regression"})
    assert result.returncode == 0, result.stderr
    _, y_train = features_and_labels(header, rows[:cut])
    x, y = features_and_labels(header, rows[cut:])
    predictions = predict(tmp / f"{path.stem}-out" / "model.onnx", x)[:, 0]
    rmse = float(np.sqrt(np.mean((predictions - y) ** 2)))
    baseline = float(np.sqrt(np.mean((y_train.mean() - y) ** 2)))
    return rmse, baseline


def test_regression_learns_the_expected_loss_and_not_shuffled_targets(data_dir: Path, tmp_path: Path) -> None:
    clean = generate(data_dir / "loss.csv", 20_000, 3, "--regression")
    shuffled = generate(data_dir / "loss-shuffled.csv", 20_000, 3, "--regression", "--shuffle-labels")
    rmse, baseline = holdout_rmse(clean, tmp_path)
    assert rmse < 0.85 * baseline
    rmse, baseline = holdout_rmse(shuffled, tmp_path)
    assert rmse > 0.97 * baseline


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("lots", r"'label' must be a finite number for task regression; data row 2 has 'lots'"),
        ("inf", r"'label' must be a finite number for task regression; data row 2 has 'inf'"),
        ("", r"'label' must be a finite number for task regression; data row 2 has 'nan'"),
    ],
)
def test_regression_refuses_a_non_finite_target(label: str, message: str, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "data.csv", HEADER, rows_with([1.5, label, 2.25]))
    result = run_trainer(data, tmp_path / "out", {"task": "regression"})
    assert result.returncode == 2, result.stderr
    assert re.search(message, result.stderr), result.stderr
    assert not (tmp_path / "out" / "result.json").exists()


def test_regression_takes_any_real_target_that_a_classifier_refuses(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "data.csv", HEADER, rows_with([0.5 * i - 3 for i in range(60)]))
    assert run_trainer(data, tmp_path / "regression", {"task": "regression", "max_iter": 5}).returncode == 0
    classifier = run_trainer(data, tmp_path / "classifier")
    assert classifier.returncode == 2 and "must be 0 or 1" in classifier.stderr


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"task": "ranking"}, r"SHEPHERD_PARAMS.task must be one of binary_classification, regression"),
        (
            {"task": "regression", "model": "logistic_regression"},
            r"model 'logistic_regression' cannot learn task 'regression'; use one of hist_gradient_boosting",
        ),
    ],
)
def test_bad_task_exits_2(params: dict, message: str, regression_csv: Path, tmp_path: Path) -> None:
    result = run_trainer(regression_csv, tmp_path, params)
    assert result.returncode == 2
    assert re.search(message, result.stderr), result.stderr
