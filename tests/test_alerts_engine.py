"""Rules on constructed series through the AlertEngine: exact steps, epochs, times."""
import math

import pytest

from nbmonitor.alerts import AlertEngine, as_rule, default_rules
from nbmonitor.run import Run


def engine(*rules, run=None, handlers=None):
    run = run or Run("t")
    return run, AlertEngine(run, [as_rule(r) for r in rules], handlers)


def alerts(run):
    return [e for e in run.events if e.kind == "alert"]


def test_nan_is_reported_once_at_its_own_step_and_only_new_points_are_read():
    run, eng = engine("nan")
    for step in range(1, 8):
        run.log("train/loss", 1.0 / step, step=step)
    assert eng.check() == []
    run.log("train/loss", math.nan, step=8)
    run.log("train/loss", math.inf, step=9)
    (a,) = eng.check()
    assert (a.series, a.step) == ("train/loss", 8) and math.isnan(a.value)
    (ev,) = alerts(run)
    assert ev.step == 8 and ev.message == "train/loss is nan at step 8"
    run.log("train/loss", math.nan, step=10)
    assert eng.check() == []  # once per series


def test_threshold_for_steps_fires_when_held_long_enough_and_rearms():
    run, eng = engine("val/loss > 2 for 3 steps -> stop")
    values = [1, 3, 3, 1, 3, 3, 3, 3, 3, 1, 5, 5, 5, 5]  # steps 0..13
    for step, v in enumerate(values):
        run.log("val/loss", v, step=step)
    fired = eng.check()
    # held from step 4: fires at step 7 (3 steps later); again from 10 at 13
    assert [a.step for a in fired] == [7, 13]
    assert "for 3 steps" in fired[0].message and run.stop_requested


def test_threshold_for_seconds_uses_the_points_wall_times():
    run, eng = engine("gpu0/util < 20 for 60s")
    s = run.buffer.series("gpu0/util")
    for i, (t, v) in enumerate([(0, 50), (10, 10), (40, 15), (69, 5), (70, 12), (80, 3)]):
        s.append(i, v, 1000.0 + t)
    assert [a.step for a in eng.check()] == [4]  # 10 -> 70: 60 s below 20
    s.append(6, 50, 1090.0)
    s.append(7, 1, 1100.0)
    assert eng.check() == []  # re-armed, but not held for 60 s yet


def test_threshold_without_duration_fires_on_the_first_point():
    run, eng = engine("val/acc >= 0.9")
    for step, v in enumerate([0.5, 0.95, 0.97, 0.2, 0.91]):
        run.log("val/acc", v, step=step)
    assert [a.step for a in eng.check()] == [1, 4]


VAL = [1.0, 0.8, 0.7, 0.7, 0.71, 0.72, 0.69, 0.75, 0.74, 0.73, 0.76]


def test_plateau_counts_points_as_epochs_without_an_epoch_counter():
    run, eng = engine("plateau val/loss 3 epochs -> lr*0.5")
    for epoch, v in enumerate(VAL, 1):
        run.log("val/loss", v, step=epoch * 10)
    fired = eng.check()
    # best 0.7 at epoch 3; 4, 5, 6 no better -> fires at epoch 6 (step 60);
    # 0.69 at epoch 7 is better; 8, 9, 10 not -> fires at epoch 10 (step 100)
    assert [a.step for a in fired] == [60, 100]
    assert run.pending_lr_scale == 0.25


def test_plateau_uses_the_run_epochs_and_max_for_accuracy():
    run, eng = engine("plateau val/acc 2 epochs delta 0.01")
    acc = [0.5, 0.6, 0.605, 0.61, 0.7]  # max is inferred; +0.005 is below delta
    for epoch, v in enumerate(acc, 1):
        run.step = (epoch - 1) * 8
        run.set_epoch(epoch)  # event at the step the epoch starts
        for _ in range(8):
            run.step += 1
            run.log("train/acc_batch", v)  # not watched
        run.log("val/acc", v)  # logged at the epoch's last step
    (a,) = eng.check()
    assert a.step == 32 and "has not improved on 0.6" in a.message  # epoch 4


def test_plateau_in_steps():
    run, eng = engine("plateau loss min 5 steps")
    for step, v in enumerate([3, 2, 2, 2, 2, 2, 2.5, 1]):
        run.log("loss", v, step=step)
    assert [a.step for a in eng.check()] == [6]


def test_divergence_after_warmup_only_and_once_per_excursion():
    run, eng = engine("diverge train/loss x10 after 100 steps")
    for step in range(0, 100):
        run.log("train/loss", 1.0 if step != 50 else 50.0, step=step)  # in warm-up
    run.log("train/loss", 0.5, step=100)
    run.log("train/loss", 4.9, step=101)  # under 10 x 0.5
    run.log("train/loss", 6.0, step=102)  # over: fires
    run.log("train/loss", 7.0, step=103)  # still over: no new alert
    (a,) = eng.check()
    assert a.step == 102 and "10x its minimum 0.5" in a.message


def test_default_rules_watch_losses_nan_and_gpu_memory():
    run, eng = engine()
    eng.rules = default_rules()
    for step in range(1, 151):
        run.log("train/loss", 1.0 if step < 150 else 20.0, step=step)
        run.log("val_acc", 0.1 * step)  # not a loss: no divergence
    for i, used in enumerate([50, 90, 96, 97]):
        run.buffer.append("gpu1/mem_used", i, used * 2**30)
        run.buffer.append("gpu1/mem_total", i, 100 * 2**30)
    fired = eng.check()
    assert sorted((a.series, a.step) for a in fired) == [("gpu1/mem_pct", 2),
                                                        ("train/loss", 150)]


def test_a_raising_rule_and_a_raising_function_are_disabled():
    calls = []

    def bad(alert):
        raise RuntimeError("handler broke")

    run, eng = engine("x > 1", "y > 1 -> stop", handlers=[bad, calls.append])
    broken = eng.rules[0]
    object.__setattr__(broken, "check", lambda pts, state: 1 / 0)
    run.log("x", 5, step=1)
    run.log("y", 5, step=1)
    run.log("y", 0, step=2)
    run.log("y", 5, step=3)
    fired = eng.check()
    assert [a.step for a in fired] == [1, 3] and run.stop_requested
    assert [a.step for a in calls] == [1, 3]  # the good handler still runs
    errors = [e.message for e in run.events if e.kind == "alert_error"]
    assert len(errors) == 2
    assert "alert rule 'x > 1' disabled: ZeroDivisionError" in errors[0]
    assert "bad disabled: RuntimeError: handler broke" in errors[1]
    run.log("x", 6, step=4)
    eng.check()  # the broken rule stays off
    assert len([e for e in run.events if e.kind == "alert_error"]) == 2


def test_lr_scale_queue_multiplies_and_rejects_bad_factors():
    run = Run("q")
    run.scale_lr(0.5, "a")
    run.scale_lr(0.5, "b")
    assert run.pending_lr_scale == 0.25
    with pytest.raises(ValueError):
        run.scale_lr(0.0)
    run.apply_pending(object())  # not an optimizer: an event, never an exception
    assert run.pending_lr_scale is None
    assert "not applied" in run.events[-1].message


def test_divergence_ignores_noise_of_a_loss_converging_to_zero():
    """The quickstart's case: 0.076 is 13x a minimum of 0.0058, but far below the start."""
    run, eng = engine("diverge train/loss x10 after 100 steps")
    for step in range(800):
        noise = 0.07 if step % 97 == 0 else 0.0
        run.log("train/loss", 0.7 * math.exp(-step / 60) + 0.0058 + noise, step=step)
    assert eng.check() == []
    run.log("train/loss", 0.9, step=800)  # worse than at the start: diverging
    (a,) = eng.check()
    assert a.step == 800
