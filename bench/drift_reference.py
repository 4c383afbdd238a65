"""Reference side of bench/drift.ts: Evidently's DataDriftPreset on the same data as packages/drift.

    python bench/drift_reference.py <data dir>

The data dir holds meta.json and, per scenario and split, one raw little-endian file per column
(float64 for numeric columns, int32 category codes for categorical ones). Prints JSON to stdout:
per scenario, the wall and CPU seconds Evidently took (building its Dataset and running the report), its count
of drifted columns, and per column the method, threshold and drift score it chose.
"""

import json
import pathlib
import sys
import time

import numpy as np
import pandas as pd

import evidently
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset


def load_frame(directory, columns, rows):
    data = {}
    for column in columns:
        path = directory / f"{column['name']}.bin"
        if column["kind"] == "numeric":
            data[column["name"]] = np.fromfile(path, dtype="<f8", count=rows)
        else:
            codes = np.fromfile(path, dtype="<i4", count=rows)
            labels = np.array(column["categories"], dtype=object)
            data[column["name"]] = labels[codes]
    return pd.DataFrame(data)


def run_scenario(root, scenario, columns):
    reference = load_frame(root / scenario["name"] / "reference", columns, scenario["referenceRows"])
    current = load_frame(root / scenario["name"] / "current", columns, scenario["currentRows"])
    definition = DataDefinition(
        numerical_columns=[c["name"] for c in columns if c["kind"] == "numeric"],
        categorical_columns=[c["name"] for c in columns if c["kind"] == "categorical"],
    )
    started = time.perf_counter()
    started_cpu = time.process_time()
    report = Report([DataDriftPreset()])
    snapshot = report.run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - started_cpu

    result = {"seconds": seconds, "cpuSeconds": cpu_seconds, "columns": {}}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        kind = config["type"]
        if kind.endswith("DriftedColumnsCount"):
            result["driftedCount"] = metric["value"]["count"]
            result["driftedShare"] = metric["value"]["share"]
        elif kind.endswith("ValueDrift"):
            result["columns"][config["column"]] = {
                "method": config["method"],
                "threshold": config["threshold"],
                "score": metric["value"],
            }
    return result


def main():
    root = pathlib.Path(sys.argv[1])
    meta = json.loads((root / "meta.json").read_text())
    out = {
        "evidently": evidently.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "scenarios": {},
    }
    for scenario in meta["scenarios"]:
        out["scenarios"][scenario["name"]] = run_scenario(root, scenario, meta["columns"])
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
