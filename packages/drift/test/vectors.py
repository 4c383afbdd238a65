"""Writes scipy-vectors.json: reference values from scipy for the drift package's unit tests.

    ~/.cache/shepherd/venv/bin/python packages/drift/test/vectors.py

Samples are not stored: both sides generate them with the same integer LCG (see `lcg_sample` here
and `generate` in vectors.ts), whose floating-point steps are identical in Python and JavaScript.
"""

import json
import math
import pathlib
import sys

import numpy as np
import scipy
from scipy import special, stats
from scipy.spatial import distance

MODULUS = 2147483647  # 2^31 - 1
MULTIPLIER = 48271


def lcg_uniforms(seed, count):
    state = seed % MODULUS or 1
    out = []
    for _ in range(count):
        state = (state * MULTIPLIER) % MODULUS
        out.append(state / MODULUS)
    return out


def lcg_sample(spec):
    """Same arithmetic, in the same order, as generate() in vectors.ts."""
    n, kind = spec["n"], spec["kind"]
    loc, scale = spec.get("loc", 0.0), spec.get("scale", 1.0)
    if kind == "normal4":
        u = lcg_uniforms(spec["seed"], 4 * n)
        return [loc + scale * (u[4 * i] + u[4 * i + 1] + u[4 * i + 2] + u[4 * i + 3] - 2.0) for i in range(n)]
    if kind == "int":
        u = lcg_uniforms(spec["seed"], n)
        return [loc + scale * math.floor(v * spec["levels"]) for v in u]
    if kind == "exp":
        u = lcg_uniforms(spec["seed"], n)
        return [loc - scale * math.log(v) for v in u]
    raise ValueError(kind)


def f(x):
    """JSON number, or a string for the non-finite ones."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def special_cases():
    chi2 = []
    for df in [1, 2, 3, 4, 5, 10, 19, 20, 21, 50, 99, 100, 101, 500, 2000, 9999, 100000]:
        for q in [0.999999, 0.9, 0.5, 0.1, 0.05, 0.01, 1e-5, 1e-12, 1e-40, 1e-150, 1e-290]:
            x = float(stats.chi2.isf(q, df))
            chi2.append({"df": df, "x": x, "sf": f(special.chdtrc(df, x))})
        for x in [1e-8, 0.5, df * 0.97, df * 1.03, df + 0.5]:
            chi2.append({"df": df, "x": x, "sf": f(special.chdtrc(df, x))})
    normal = [{"x": x, "sf": f(stats.norm.sf(x)), "cdf": f(stats.norm.cdf(x))}
              for x in [-8, -3, -1.5, -0.3, 0, 1e-9, 0.2, 0.7, 1, 1.4142, 1.9999, 2, 2.0001, 3, 4.5, 6, 8.3, 10, 20, 30, 37.5]]
    return {"chi2": chi2, "normal": normal}


def kolmogorov_cases():
    kstwo = []
    for n in [1, 2, 3, 5, 10, 25, 50, 100, 140, 141, 300, 1000, 5000, 20000, 100000, 100001, 400000, 2000000]:
        xs = set()
        for nx2 in [0.2, 0.5, 0.75, 0.76, 1.0, 1.5, 2.0, 2.19, 2.21, 3.0, 3.99, 4.01, 6.0, 10.0, 17.9, 18.1, 50.0, 200.0, 369.0]:
            x = math.sqrt(nx2 / n)
            if x < 1:
                xs.add(x)
        for x in [0.5 / n + 1e-3 / n, 0.75 / n, 1.0 / n, 0.3, 0.5, 0.55, 0.8, 1 - 1.0 / n, 1 - 0.5 / n]:
            if 0 < x < 1:
                xs.add(x)
        for x in sorted(xs):
            kstwo.append({"n": n, "x": x, "sf": f(stats.kstwo.sf(x, n))})
    smirnov = []
    for n in [2, 3, 7, 10, 50, 141, 1000, 12345, 200000, 1000000, 2000000]:
        for x in [0.1 / n, 0.9 / n, 1.0 / n, 2.5 / n, 1.1 / math.sqrt(n), 2.0 / math.sqrt(n), 4.0 / math.sqrt(n), 0.3, 0.5, 0.75, 1 - 1.5 / n]:
            if 0 < x < 1:
                smirnov.append({"n": n, "x": x, "sf": f(special.smirnov(n, x))})
    return {"kstwo": kstwo, "smirnov": smirnov}


def ks_cases():
    specs = [
        # (name, reference spec, current spec)
        ("exact, small, shifted", {"seed": 1, "n": 40, "kind": "normal4"}, {"seed": 2, "n": 55, "kind": "normal4", "loc": 0.4}),
        ("exact, equal sizes", {"seed": 3, "n": 300, "kind": "normal4"}, {"seed": 4, "n": 300, "kind": "normal4", "loc": 0.05}),
        ("exact, ties", {"seed": 5, "n": 200, "kind": "int", "levels": 7}, {"seed": 6, "n": 150, "kind": "int", "levels": 7, "loc": 0.0}),
        ("exact, ties shifted", {"seed": 7, "n": 500, "kind": "int", "levels": 12}, {"seed": 8, "n": 450, "kind": "int", "levels": 13}),
        ("exact, coprime sizes near the limit", {"seed": 9, "n": 9973, "kind": "normal4"}, {"seed": 10, "n": 4999, "kind": "normal4", "loc": 0.01}),
        ("exact, identical samples", {"seed": 11, "n": 100, "kind": "normal4"}, {"seed": 11, "n": 100, "kind": "normal4"}),
        ("exact, tiny", {"seed": 12, "n": 3, "kind": "normal4"}, {"seed": 13, "n": 4, "kind": "normal4", "loc": 3}),
        ("exact, tiny vs large", {"seed": 14, "n": 8000, "kind": "normal4"}, {"seed": 15, "n": 6, "kind": "normal4", "loc": 0.5}),
        ("asymptotic, no drift", {"seed": 16, "n": 20000, "kind": "normal4"}, {"seed": 17, "n": 15000, "kind": "normal4"}),
        ("asymptotic, small drift", {"seed": 18, "n": 30000, "kind": "normal4"}, {"seed": 19, "n": 12000, "kind": "normal4", "loc": 0.03}),
        ("asymptotic, clear drift", {"seed": 20, "n": 12000, "kind": "normal4"}, {"seed": 21, "n": 12000, "kind": "normal4", "scale": 1.2}),
        ("asymptotic, exponential", {"seed": 22, "n": 50000, "kind": "exp"}, {"seed": 23, "n": 20000, "kind": "exp", "scale": 1.02}),
        ("asymptotic, large vs tiny", {"seed": 24, "n": 20000, "kind": "normal4"}, {"seed": 25, "n": 7, "kind": "normal4", "loc": 0.8}),
        ("asymptotic, large vs small", {"seed": 26, "n": 15000, "kind": "normal4"}, {"seed": 27, "n": 150, "kind": "normal4", "loc": 0.3}),
        ("asymptotic, reference above 50 000 distinct values", {"seed": 30, "n": 60000, "kind": "normal4"}, {"seed": 31, "n": 20000, "kind": "normal4", "loc": 0.02}),
        ("asymptotic, ties", {"seed": 28, "n": 40000, "kind": "int", "levels": 30}, {"seed": 29, "n": 10001, "kind": "int", "levels": 31}),
    ]
    out = []
    for name, ref, cur in specs:
        a, b = np.array(lcg_sample(ref)), np.array(lcg_sample(cur))
        r = stats.ks_2samp(a, b)
        out.append({
            "name": name, "reference": ref, "current": cur,
            "statistic": f(r.statistic), "pValue": f(r.pvalue),
            "wasserstein": f(stats.wasserstein_distance(a, b)),
            "referenceStd": f(np.std(a)),
            "firstValues": [f(v) for v in a[:3]],
        })
    return out


def js_cases():
    cases = [
        ([0.25, 0.25, 0.5], [0.2, 0.3, 0.5], None),
        ([1, 0, 0], [0, 1, 0], None),
        ([1, 0, 0], [0, 1, 0], 2),
        ([10, 20, 30, 40], [40, 30, 20, 10], None),
        ([5, 5], [5, 5], None),
        ([0.1, 0.0, 0.9, 0.0], [0.1, 0.4, 0.1, 0.4], 2.0),
        (list(range(1, 101)), list(range(100, 0, -1)), None),
        ([1e-9, 1, 1], [1, 1e-9, 1], None),
    ]
    return [{"p": p, "q": q, "base": base, "distance": f(distance.jensenshannon(p, q, base))} for p, q, base in cases]


def chisquare_cases():
    out = []
    rng = np.random.default_rng(2024)
    for k, n_ref, n_cur, tilt in [(3, 500, 400, 0.0), (3, 500, 400, 0.3), (12, 900, 1000, 0.05), (60, 5000, 3000, 0.0),
                                  (250, 20000, 20000, 0.02), (1500, 100000, 80000, 0.0)]:
        weights = rng.dirichlet(np.ones(k) * 2)
        ref = rng.multinomial(n_ref, weights)
        ref = np.maximum(ref, 1)
        cur_w = weights * np.exp(tilt * np.arange(k) / k * 5)
        cur = rng.multinomial(n_cur, cur_w / cur_w.sum())
        expected = ref * (cur.sum() / ref.sum())  # Evidently: reference counts scaled to the current size
        r = stats.chisquare(cur, expected)
        keep = (ref + cur) > 0
        c = stats.chi2_contingency(np.array([ref[keep], cur[keep]]))
        out.append({"observed": cur.tolist(), "referenceCounts": ref.tolist(), "statistic": f(r.statistic), "pValue": f(r.pvalue),
                    "contingencyStatistic": f(c.statistic), "contingencyPValue": f(c.pvalue)})
    for ref, cur in [([30, 70], [45, 55]), ([3, 9], [8, 4]), ([500, 500], [480, 520])]:
        c = stats.chi2_contingency(np.array([ref, cur]))
        out.append({"observed": cur, "referenceCounts": ref, "statistic": None, "pValue": None,
                    "contingencyStatistic": f(c.statistic), "contingencyPValue": f(c.pvalue)})
    return out


def z_cases():
    out = []
    for x1, n1, x2, n2 in [(30, 100, 45, 120), (500, 1000, 510, 1000), (1, 1000, 0, 999), (900, 1000, 100, 1000),
                           (7, 10, 2, 10), (12345, 50000, 13001, 48000)]:
        p1, p2 = x1 / n1, x2 / n2
        pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
        z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
        out.append({"x1": x1, "n1": n1, "x2": x2, "n2": n2, "statistic": f(z), "pValue": f(2 * stats.norm.sf(abs(z)))})
    return out


def binned_cases():
    """PSI and Jensen-Shannon on Sturges bins over the joint range, as Evidently's get_binned_data."""
    out = []
    for ref_spec, cur_spec in [
        ({"seed": 31, "n": 3000, "kind": "normal4"}, {"seed": 32, "n": 2000, "kind": "normal4", "loc": 0.2}),
        ({"seed": 33, "n": 5000, "kind": "exp"}, {"seed": 34, "n": 5000, "kind": "exp", "scale": 1.5}),
    ]:
        ref, cur = np.array(lcg_sample(ref_spec)), np.array(lcg_sample(cur_spec))
        bins = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
        r = np.histogram(ref, bins)[0] / len(ref)
        c = np.histogram(cur, bins)[0] / len(cur)
        js = distance.jensenshannon(r, c)

        def fill(p):
            p = p.copy()
            m = p[p != 0].min()
            np.place(p, p == 0, m / 10**6 if m <= 0.0001 else 0.0001)
            return p

        rf, cf = fill(r), fill(c)
        psi = np.sum((rf - cf) * np.log(rf / cf))
        out.append({"reference": ref_spec, "current": cur_spec, "edges": [f(e) for e in bins],
                    "referenceShares": [f(v) for v in r], "currentShares": [f(v) for v in c],
                    "jensenshannon": f(js), "psi": f(psi)})
    return out


def main():
    data = {
        "generatedBy": "packages/drift/test/vectors.py",
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "special": special_cases(),
        "kolmogorov": kolmogorov_cases(),
        "ks": ks_cases(),
        "jensenshannon": js_cases(),
        "chisquare": chisquare_cases(),
        "z": z_cases(),
        "binned": binned_cases(),
    }
    path = pathlib.Path(__file__).with_name("scipy-vectors.json")
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
