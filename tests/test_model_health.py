"""The model panel's data: heat strip of update ratios, merging by module prefix."""
import math

import numpy as np
import pytest

from nbmonitor.model_health import grad_norm_series, heat, prefix_groups
from nbmonitor.run import Run


def test_heat_is_log10_ratio_per_layer_and_step():
    run = Run("h")
    for step, r in [(1, 1e-2), (50, 1e-3), (100, 1e-4)]:
        run.log("update_ratio/fc1", r, step=step)
        run.log("weight/norm/fc1", 2.0, step=step)
        run.log("grad/norm/fc1", 0.5, step=step)
    run.log("update_ratio/fc2", 1e-3, step=50)
    run.log("grad/norm", 3.0, step=1)
    h = heat(run)
    assert h.rows == ["fc1", "fc2"] and h.steps.tolist() == [1, 50, 100]
    assert h.values[0].tolist() == pytest.approx([-2, -3, -4])
    assert math.isnan(h.values[1, 0]) and h.values[1, 1] == pytest.approx(-3)
    assert grad_norm_series(run) == ["grad/norm"]


def test_more_than_max_rows_layers_merge_by_prefix_weighted_by_weight_norm():
    names = [f"encoder.layers.{i}.{p}" for i in range(20) for p in ("q", "k")] + ["head"]
    groups = prefix_groups(names, 30)
    assert len(groups) == 21 and groups["encoder.layers.3"] == ["encoder.layers.3.q",
                                                               "encoder.layers.3.k"]
    run = Run("m")
    for n in names:
        q = n.endswith(".q")
        run.log(f"update_ratio/{n}", 1e-2 if q else 1e-4, step=1)
        run.log(f"weight/norm/{n}", 3.0 if q else 4.0, step=1)
    h = heat(run, max_rows=30)
    assert h.merged and len(h.rows) == 21
    i = h.rows.index("encoder.layers.0")
    want = math.sqrt((3 * 1e-2) ** 2 + (4 * 1e-4) ** 2) / 5.0
    assert h.values[i, 0] == pytest.approx(np.log10(want))
