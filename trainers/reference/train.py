#!/usr/bin/env python3
"""Shepherd's reference trainer: a binary classifier or a regressor on a labelled CSV, exported to ONNX.

It follows the trainer contract (packages/contracts/src/trainer.ts):

  in   SHEPHERD_TRAIN_DATA, SHEPHERD_OUTPUT_DIR, SHEPHERD_PARAMS, SHEPHERD_SEED,
       MLFLOW_TRACKING_URI + MLFLOW_RUN_ID (optional)
  out  $SHEPHERD_OUTPUT_DIR/model.onnx    input "features" float32 [N, F], and by SHEPHERD_PARAMS.task:
                                            binary_classification (default): outputs "label" int64 [N]
                                              and "probabilities" float32 [N, 2]
                                            regression: output "predictions" float32 [N, 1]
       $SHEPHERD_OUTPUT_DIR/result.json   {featureNames, trainingMetrics, framework, params}
       stdout                             one JSON progress object per line
  exit 0 on success; 2 for bad input or configuration (the message says which); 1 for anything else.

Every CSV column except transaction_id, card_id, event_time and label is a feature, in header order.
The label is 0 or 1 for binary_classification, any finite number for regression.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NON_FEATURE_COLUMNS = ("transaction_id", "card_id", "event_time", "label")
LABEL_COLUMN = "label"
MODELS = ("hist_gradient_boosting", "logistic_regression")
TASKS = ("binary_classification", "regression")
# Models that can learn each task; the first is the default.
TASK_MODELS = {"binary_classification": MODELS, "regression": ("hist_gradient_boosting",)}
# Rows the per-iteration loss curve is computed on (evenly spaced, so it spans the whole period).
LOSS_SAMPLE_ROWS = 20_000
PARITY_SAMPLE_ROWS = 256


class TrainerError(Exception):
    """The caller's mistake: bad input data, parameters or environment. Exits 2 with the message."""


def progress(fraction: float, message: str) -> None:
    print(json.dumps({"progress": round(min(max(fraction, 0.0), 1.0), 4), "message": message}), flush=True)


# --- configuration -----------------------------------------------------------------------------


HGB = ("hist_gradient_boosting",)
LOGREG = ("logistic_regression",)


@dataclass(frozen=True)
class ParamSpec:
    kind: type
    default: Any
    check: Callable[[Any], bool]
    rule: str
    models: tuple[str, ...] = MODELS
    nullable: bool = False


PARAM_SPECS: dict[str, ParamSpec] = {
    "task": ParamSpec(str, TASKS[0], lambda v: v in TASKS, f"one of {', '.join(TASKS)}"),
    "model": ParamSpec(str, MODELS[0], lambda v: v in MODELS, f"one of {', '.join(MODELS)}"),
    "max_iter": ParamSpec(int, 200, lambda v: v >= 1, "an integer >= 1", HGB),
    "learning_rate": ParamSpec(float, 0.05, lambda v: 0 < v <= 10, "a number in (0, 10]", HGB),
    "max_depth": ParamSpec(int, None, lambda v: v >= 1, "an integer >= 1 or null", HGB, nullable=True),
    "max_leaf_nodes": ParamSpec(int, 15, lambda v: v >= 2, "an integer >= 2", HGB),
    "min_samples_leaf": ParamSpec(int, 50, lambda v: v >= 1, "an integer >= 1", HGB),
    "l2_regularization": ParamSpec(float, 0.0, lambda v: v >= 0, "a number >= 0", HGB),
    "C": ParamSpec(float, 1.0, lambda v: v > 0, "a number > 0", LOGREG),
    "validation_fraction": ParamSpec(float, 0.0, lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "delay_seconds": ParamSpec(float, 0.0, lambda v: 0 <= v <= 86400, "a number of seconds in [0, 86400]"),
}


@dataclass(frozen=True)
class Config:
    train_data: Path
    output_dir: Path
    params: dict[str, Any]
    seed: int
    mlflow_tracking_uri: str | None
    mlflow_run_id: str | None


def parse_params(raw: str) -> dict[str, Any]:
    try:
        given = json.loads(raw)
    except json.JSONDecodeError as error:
        raise TrainerError(f"SHEPHERD_PARAMS is not valid JSON: {error}") from None
    if not isinstance(given, dict):
        raise TrainerError(f"SHEPHERD_PARAMS must be a JSON object, got {type(given).__name__}")
    unknown = sorted(set(given) - set(PARAM_SPECS))
    if unknown:
        raise TrainerError(
            f"SHEPHERD_PARAMS has unknown parameter(s) {', '.join(unknown)}; known: {', '.join(PARAM_SPECS)}"
        )
    model = given.get("model", PARAM_SPECS["model"].default)
    params: dict[str, Any] = {}
    for name, spec in PARAM_SPECS.items():
        if model in MODELS and model not in spec.models:
            if name in given:
                raise TrainerError(f"SHEPHERD_PARAMS.{name} does not apply to model {model!r}")
            continue
        value = given.get(name, spec.default)
        if value is None and (spec.nullable or spec.default is None):
            params[name] = None
            continue
        if spec.kind is int and isinstance(value, float) and value.is_integer():
            value = int(value)
        if spec.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        # bool is an int in Python, but `true` is never a sensible iteration count.
        if isinstance(value, bool) or not isinstance(value, spec.kind) or not spec.check(value):
            raise TrainerError(f"SHEPHERD_PARAMS.{name} must be {spec.rule}, got {json.dumps(value)}")
        params[name] = value
    task = params["task"]
    if params["model"] not in TASK_MODELS[task]:
        raise TrainerError(
            f"SHEPHERD_PARAMS.model {params['model']!r} cannot learn task {task!r}; "
            f"use one of {', '.join(TASK_MODELS[task])}"
        )
    if "task" not in given:
        # Recorded only when asked for, so a classifier's params (result.json, MLflow) read as they
        # did before there was a choice.
        del params["task"]
    return params


def task_of(params: dict[str, Any]) -> str:
    return params.get("task", TASKS[0])


def read_config(env: os._Environ[str] | dict[str, str]) -> Config:
    train_data = env.get("SHEPHERD_TRAIN_DATA")
    if not train_data:
        raise TrainerError("SHEPHERD_TRAIN_DATA is not set (path to the training CSV)")
    output_dir = env.get("SHEPHERD_OUTPUT_DIR")
    if not output_dir:
        raise TrainerError("SHEPHERD_OUTPUT_DIR is not set (directory for model.onnx and result.json)")
    params = parse_params(env.get("SHEPHERD_PARAMS") or "{}")
    seed_text = env.get("SHEPHERD_SEED", "0").strip()
    try:
        seed = int(seed_text)
    except ValueError:
        raise TrainerError(f"SHEPHERD_SEED must be an integer, got {seed_text!r}") from None
    tracking_uri = env.get("MLFLOW_TRACKING_URI") or None
    run_id = env.get("MLFLOW_RUN_ID") or None
    if run_id and not tracking_uri:
        raise TrainerError("MLFLOW_RUN_ID is set but MLFLOW_TRACKING_URI is not")
    if tracking_uri and not run_id:
        # A tracking URI alone is common in a developer's shell; without a run there is nothing to log into.
        tracking_uri = None
    return Config(Path(train_data), Path(output_dir), params, seed, tracking_uri, run_id)


# --- data --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    feature_names: list[str]
    features: Any  # numpy float32 [N, F]
    labels: Any  # numpy int64 [N] (binary_classification) or float64 [N] (regression)


def load_dataset(path: Path, task: str = TASKS[0]) -> Dataset:
    import numpy as np
    import pandas as pd

    if not path.is_file():
        raise TrainerError(f"SHEPHERD_TRAIN_DATA: {path} does not exist or is not a file")
    try:
        frame = pd.read_csv(path, low_memory=False)
    except pd.errors.EmptyDataError:
        raise TrainerError(
            f"SHEPHERD_TRAIN_DATA: {path} is empty (expected a CSV with a header row)"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise TrainerError(f"SHEPHERD_TRAIN_DATA: {path} is not a readable CSV: {error}") from None

    columns = [str(c) for c in frame.columns]
    if LABEL_COLUMN not in columns:
        raise TrainerError(
            f"SHEPHERD_TRAIN_DATA: no {LABEL_COLUMN!r} column in {path} (columns: {', '.join(columns)})"
        )
    feature_names = [c for c in columns if c not in NON_FEATURE_COLUMNS]
    if not feature_names:
        raise TrainerError(
            f"SHEPHERD_TRAIN_DATA: {path} has no feature columns besides {', '.join(NON_FEATURE_COLUMNS)}"
        )
    if len(frame) == 0:
        raise TrainerError(f"SHEPHERD_TRAIN_DATA: {path} has a header but no rows")

    labels = pd.to_numeric(frame[LABEL_COLUMN], errors="coerce")
    if task == "regression":
        bad = labels.isna() | ~np.isfinite(labels.to_numpy(dtype=np.float64, na_value=np.nan))
        rule = "must be a finite number for task regression"
    else:
        bad = labels.isna() | ~labels.isin([0, 1])
        rule = "must be 0 or 1"
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise TrainerError(
            f"SHEPHERD_TRAIN_DATA: {LABEL_COLUMN!r} {rule}; data row {row + 1} has "
            f"{str(frame[LABEL_COLUMN].iloc[row])!r} ({int(bad.sum())} bad rows)"
        )
    if task != "regression":
        classes = sorted(labels.unique().tolist())
        if len(classes) < 2:
            raise TrainerError(
                f"SHEPHERD_TRAIN_DATA: {LABEL_COLUMN!r} has a single class ({int(classes[0])}) in all "
                f"{len(frame)} rows; a classifier needs both 0 and 1"
            )

    matrix = np.empty((len(frame), len(feature_names)), dtype=np.float32)
    for index, name in enumerate(feature_names):
        column = frame[name]
        numeric = pd.to_numeric(column, errors="coerce")
        unparsable = numeric.isna() & column.notna()
        if unparsable.any():
            row = int(unparsable.to_numpy().nonzero()[0][0])
            raise TrainerError(
                f"SHEPHERD_TRAIN_DATA: feature column {name!r} must be numeric; data row {row + 1} has "
                f"{str(column.iloc[row])!r}"
            )
        values = numeric.to_numpy(dtype=np.float64)
        if np.isinf(values).any():
            raise TrainerError(f"SHEPHERD_TRAIN_DATA: feature column {name!r} has infinite values")
        # Trained on the float32 values the ONNX model will be served, so split thresholds agree.
        matrix[:, index] = values.astype(np.float32)
    label_type = np.float64 if task == "regression" else np.int64
    return Dataset(feature_names, matrix, labels.to_numpy(dtype=label_type))


# --- MLflow ------------------------------------------------------------------------------------


class MlflowLog:
    """Logs into a run the worker created and owns: never ends it or changes its status."""

    def __init__(self, tracking_uri: str, run_id: str) -> None:
        try:
            from mlflow.tracking import MlflowClient
        except ImportError:
            raise TrainerError(
                "MLFLOW_TRACKING_URI and MLFLOW_RUN_ID are set but the mlflow package is not installed"
            ) from None
        self.client = MlflowClient(tracking_uri=tracking_uri)
        self.run_id = run_id
        try:
            run = self.client.get_run(run_id)
        except Exception as error:  # noqa: BLE001 - MLflow raises several types; all mean "cannot log"
            raise TrainerError(f"MLflow run {run_id} at {tracking_uri} is not usable: {error}") from None
        self.existing_params = dict(run.data.params)

    def params(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        # MLflow params are write-once; the worker may already have logged the requested ones, in its
        # own formatting, so only the keys it has not set are added.
        fresh = [
            Param(key, value if isinstance(value, str) else json.dumps(value))
            for key, value in params.items()
            if key not in self.existing_params
        ]
        if fresh:
            self.client.log_batch(self.run_id, params=fresh)

    def history(self, key: str, points: list[tuple[int, float]]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        if points:
            self.client.log_batch(
                self.run_id, metrics=[Metric(key, value, now, step) for step, value in points]
            )

    def metrics(self, metrics: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()])

    def artifact(self, path: Path, directory: str) -> None:
        self.client.log_artifact(self.run_id, str(path), directory)

    def tag(self, key: str, value: str) -> None:
        self.client.set_tag(self.run_id, key, value)


# --- training ----------------------------------------------------------------------------------


def wait(seconds: float, start: float, end: float) -> None:
    """The `delay_seconds` parameter: a deliberately slow trainer for cancellation tests and demos."""
    if seconds <= 0:
        return
    began = time.monotonic()
    last_report = -math.inf
    while (elapsed := time.monotonic() - began) < seconds:
        if elapsed - last_report >= 1.0:
            progress(start + (end - start) * elapsed / seconds, f"slow mode: {elapsed:.0f}s of {seconds:g}s")
            last_report = elapsed
        time.sleep(min(0.2, seconds - elapsed))
    progress(end, f"slow mode: waited {seconds:g}s")


def build_model(params: dict[str, Any], seed: int) -> Any:
    if params["model"] == "logistic_regression":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        return Pipeline(
            [
                ("scale", StandardScaler()),
                ("classify", LogisticRegression(C=params["C"], max_iter=2000, random_state=seed)),
            ]
        )
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    # Squared error for regression: the model then estimates the conditional mean, which is what
    # RMSE rewards and what the ONNX output means.
    estimator = (
        HistGradientBoostingRegressor if task_of(params) == "regression" else HistGradientBoostingClassifier
    )
    return estimator(
        max_iter=params["max_iter"],
        learning_rate=params["learning_rate"],
        max_depth=params["max_depth"],
        max_leaf_nodes=params["max_leaf_nodes"],
        min_samples_leaf=params["min_samples_leaf"],
        l2_regularization=params["l2_regularization"],
        # Early stopping would carve a random validation split out of the data; Shepherd evaluates
        # on its own holdout, and a fixed iteration count keeps runs comparable.
        early_stopping=False,
        random_state=seed,
    )


def fit(model: Any, x: Any, y: Any, params: dict[str, Any], start: float, end: float) -> None:
    """Fits in a background thread while this one reports progress about once a second.

    scikit-learn has no fit callback; HistGradientBoosting appends each finished iteration to
    `_predictors`, so its length is the live iteration count (a private attribute, hence the
    getattr fallback: progress then only reports elapsed time).
    """
    if params["model"] == "logistic_regression" and _has_nan(x):
        raise TrainerError(
            "logistic_regression cannot train on missing feature values; use hist_gradient_boosting"
        )
    total = params.get("max_iter")
    failure: list[BaseException] = []

    def run() -> None:
        try:
            model.fit(x, y)
        except BaseException as error:  # noqa: BLE001 - re-raised on the main thread
            failure.append(error)

    # Daemon: a SIGTERM handled on the main thread ends the process without joining the fit.
    worker = threading.Thread(target=run, name="fit", daemon=True)
    began = time.monotonic()
    progress(start, f"fitting {params['model']}")
    worker.start()
    while worker.is_alive():
        worker.join(timeout=1.0)
        if not worker.is_alive():
            break
        elapsed = time.monotonic() - began
        finished = len(getattr(model, "_predictors", None) or [])
        if total and finished:
            progress(
                start + (end - start) * min(finished / total, 1.0), f"fitted {finished} of {total} iterations"
            )
        else:
            progress(start, f"fitting {params['model']}: {elapsed:.0f}s")
    if failure:
        raise failure[0]
    progress(end, "fitted")


def loss_curve(model: Any, x: Any, y: Any, task: str, points: int = 20) -> list[tuple[int, float]]:
    """Train loss (log loss, or RMSE for regression) after each of about `points` evenly spaced
    boosting iterations, on a sample."""
    import numpy as np
    from sklearn.metrics import log_loss, root_mean_squared_error

    regression = task == "regression"
    if not hasattr(model, "staged_predict" if regression else "staged_predict_proba"):
        return []
    rows = np.linspace(0, len(y) - 1, num=min(LOSS_SAMPLE_ROWS, len(y)), dtype=np.int64)
    sample_x, sample_y = x[rows], y[rows]
    every = max(1, int(model.n_iter_) // points)
    stages = model.staged_predict(sample_x) if regression else model.staged_predict_proba(sample_x)
    curve = []
    for iteration, predicted in enumerate(stages, start=1):
        if iteration % every == 0 or iteration == model.n_iter_:
            loss = (
                root_mean_squared_error(sample_y, predicted)
                if regression
                else log_loss(sample_y, predicted[:, 1], labels=[0, 1])
            )
            curve.append((iteration, float(loss)))
    return curve


def _has_nan(x: Any) -> bool:
    import numpy as np

    return bool(np.isnan(x).any())


def measure(model: Any, x: Any, y: Any, prefix: str, task: str = TASKS[0]) -> dict[str, float]:
    from sklearn.metrics import (
        log_loss,
        mean_absolute_error,
        r2_score,
        roc_auc_score,
        root_mean_squared_error,
    )

    if task == "regression":
        predictions = model.predict(x)
        metrics = {
            f"{prefix}_rows": float(len(y)),
            f"{prefix}_target_mean": float(y.mean()),
            f"{prefix}_rmse": float(root_mean_squared_error(y, predictions)),
            f"{prefix}_mae": float(mean_absolute_error(y, predictions)),
        }
        if len(y) > 1 and float(y.var()) > 0:
            metrics[f"{prefix}_r2"] = float(r2_score(y, predictions))
        return metrics

    scores = model.predict_proba(x)[:, 1]
    metrics = {f"{prefix}_rows": float(len(y)), f"{prefix}_positive_rate": float(y.mean())}
    metrics[f"{prefix}_logloss"] = float(log_loss(y, scores, labels=[0, 1]))
    if 0 < y.sum() < len(y):
        metrics[f"{prefix}_auc"] = float(roc_auc_score(y, scores))
    return metrics


def export_onnx(model: Any, feature_names: list[str], seed: int, task: str = TASKS[0]) -> Any:
    import onnx
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType

    estimator = model.steps[-1][1] if hasattr(model, "steps") else model
    regression = task == "regression"
    converted = convert_sklearn(
        model,
        # Otherwise a random UUID: the same data, params and seed must give a byte-identical model.
        name="shepherd_reference",
        initial_types=[("features", FloatTensorType([None, len(feature_names)]))],
        # skl2onnx would call a regressor's output "variable"; the contract calls it "predictions".
        final_types=[("predictions", FloatTensorType([None, 1]))]
        if regression
        else [("label", Int64TensorType([None])), ("probabilities", FloatTensorType([None, 2]))],
        # Without zipmap the probabilities are a plain float tensor rather than a list of maps.
        options=None if regression else {id(estimator): {"zipmap": False}},
        # A ceiling, not a floor: the converter picks the lowest opsets it needs, which keeps the
        # model loadable by older onnxruntime builds in the gateway.
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    # The converter collects opsets in a set, so their order follows string hashing, which Python
    # randomizes per process; sorted, the same model serializes to the same bytes.
    opsets = sorted((o.domain, o.version) for o in converted.opset_import)
    del converted.opset_import[:]
    converted.opset_import.extend(onnx.helper.make_opsetid(domain, version) for domain, version in opsets)
    converted.doc_string = (
        "Shepherd reference trainer: the predicted label is predictions[:, 0]"
        if regression
        else "Shepherd reference trainer: P(label=1) is probabilities[:, 1]"
    )
    onnx.helper.set_model_props(
        converted,
        {
            "shepherd.feature_names": json.dumps(feature_names),
            "shepherd.seed": str(seed),
            "shepherd.task": task,
            "shepherd.trainer": "reference",
        },
    )
    onnx.checker.check_model(converted, full_check=True)
    return converted


def onnx_parity(onnx_model: Any, model: Any, x: Any, task: str = TASKS[0]) -> float:
    """Largest |P_onnx - P_sklearn| on a sample: catches a converter that silently changes the model.

    For regression, the largest |y_onnx - y_sklearn| / max(1, |y_sklearn|): the ONNX trees add leaf
    values in float32, so the error grows with the size of the prediction.
    """
    import numpy as np
    from onnx.reference import ReferenceEvaluator

    sample = x[np.linspace(0, len(x) - 1, num=min(PARITY_SAMPLE_ROWS, len(x)), dtype=np.int64)]
    if task == "regression":
        (onnx_predictions,) = ReferenceEvaluator(onnx_model).run(["predictions"], {"features": sample})
        if onnx_predictions.shape != (len(sample), 1) or onnx_predictions.dtype != np.float32:
            raise RuntimeError(
                f"ONNX predictions came out {onnx_predictions.dtype}{list(onnx_predictions.shape)}"
            )
        expected = model.predict(sample)
        return float((np.abs(onnx_predictions[:, 0] - expected) / np.maximum(1.0, np.abs(expected))).max())
    (onnx_probabilities,) = ReferenceEvaluator(onnx_model).run(["probabilities"], {"features": sample})
    if onnx_probabilities.shape != (len(sample), 2) or onnx_probabilities.dtype != np.float32:
        raise RuntimeError(
            f"ONNX probabilities came out {onnx_probabilities.dtype}{list(onnx_probabilities.shape)}"
        )
    return float(np.abs(onnx_probabilities - model.predict_proba(sample)).max())


def write_json_atomically(path: Path, value: Any) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(value, indent=2) + "\n")
    os.replace(temporary, path)


def train(config: Config) -> dict[str, Any]:
    import numpy as np
    import sklearn

    params = config.params
    task = task_of(params)
    progress(0.0, f"reading {config.train_data}")
    log = MlflowLog(config.mlflow_tracking_uri, config.mlflow_run_id) if config.mlflow_run_id else None
    data = load_dataset(config.train_data, task)
    config.output_dir.mkdir(parents=True, exist_ok=True)
    # numpy and scikit-learn take seeds in [0, 2**32); the contract allows any integer.
    seed = config.seed % (2**32)
    framework = f"scikit-learn {sklearn.__version__}"
    resolved = {**params, "seed": config.seed}
    if log:
        log.params(resolved)
        log.tag("shepherd.trainer", "reference")
    progress(0.05, f"read {len(data.labels)} rows, {len(data.feature_names)} features")

    x, y = data.features, data.labels
    x_valid = y_valid = None
    if params["validation_fraction"] > 0:
        # The latest rows: datasets are in event-time order, and a model is judged on the future.
        cut = int(round(len(y) * (1 - params["validation_fraction"])))
        x, x_valid, y, y_valid = x[:cut], x[cut:], y[:cut], y[cut:]
        if task != "regression" and len(np.unique(y)) < 2:
            raise TrainerError("validation_fraction leaves a single class in the training rows")

    wait(params["delay_seconds"], 0.05, 0.35)
    model = build_model(params, seed)
    started = time.monotonic()
    fit(model, x, y, params, 0.35, 0.85)
    fit_seconds = time.monotonic() - started
    if log:
        curve = "train_rmse_curve" if task == "regression" else "train_logloss_curve"
        log.history(curve, loss_curve(model, x, y, task))

    progress(0.87, "measuring")
    metrics = measure(model, x, y, "train", task)
    if x_valid is not None and len(y_valid) > 0:
        metrics.update(measure(model, x_valid, y_valid, "validation", task))
    metrics["fit_seconds"] = round(fit_seconds, 3)
    if hasattr(model, "n_iter_"):
        metrics["iterations"] = float(model.n_iter_)

    progress(0.9, "exporting ONNX")
    onnx_model = export_onnx(model, data.feature_names, config.seed, task)
    parity = onnx_parity(onnx_model, model, x, task)
    if task == "regression" and parity > 1e-4:
        raise RuntimeError(
            f"the ONNX model's predictions differ from scikit-learn's by up to {parity:.3g} (relative)"
        )
    if task != "regression" and parity > 1e-3:
        raise RuntimeError(f"the ONNX model disagrees with scikit-learn by up to {parity:.3g} in probability")
    metrics["onnx_max_rel_diff" if task == "regression" else "onnx_max_abs_diff"] = parity
    model_path = config.output_dir / "model.onnx"
    model_path.write_bytes(onnx_model.SerializeToString())

    result = {
        "featureNames": data.feature_names,
        "trainingMetrics": metrics,
        "framework": framework,
        "params": resolved,
    }
    if log:
        progress(0.95, "logging to MLflow")
        log.metrics(metrics)
        log.artifact(model_path, "model")
    # Last, so a result.json on disk always means a complete model.onnx next to it.
    write_json_atomically(config.output_dir / "result.json", result)
    if task == "regression":
        progress(1.0, f"done: train RMSE {metrics['train_rmse']:.4g}")
    else:
        progress(1.0, f"done: train AUC {metrics.get('train_auc', float('nan')):.4f}")
    return result


def main() -> int:
    # One OpenMP thread unless told otherwise: trainers share small machines with the worker and
    # other services, and oversubscribed OpenMP threads spin. Measured on 2 busy cores: 100k rows
    # fitted in 1.3s on one thread and in 23-30s on two. Set before numpy and scikit-learn load.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # The worker cancels with SIGTERM; exit through Python so the reason reaches stderr.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("train.py: terminated (SIGTERM)"))
    try:
        train(read_config(os.environ))
    except TrainerError as error:
        print(f"train.py: error: {error}", file=sys.stderr, flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
