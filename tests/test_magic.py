"""``%%monitor`` through a real IPython shell (in-process)."""
import pytest
from IPython.core.interactiveshell import InteractiveShell


@pytest.fixture(scope="module")
def shell():
    sh = InteractiveShell.instance()
    sh.run_cell("%load_ext nbmonitor", store_history=False)
    yield sh


def test_magic_runs_cell_and_records(shell, capsys):
    res = shell.run_cell("%%monitor --name m1 --no-print-capture\n"
                         "import nbmonitor\n"
                         "for i in range(5):\n"
                         "    nbmonitor.log(x=i)\n"
                         "    print(f'y: {i}')\n")
    assert res.success
    run = shell.user_ns["nbmonitor"].last_run()
    assert run.name == "m1" and run.status == "finished"
    assert run.buffer.series("x").count == 5
    assert "y" not in run.buffer, "--no-print-capture is print_capture=False"
    assert "y: 4" in capsys.readouterr().out


@pytest.mark.parametrize("line", ["--bogus", "--total-steps ten", "--refresh-hz -1",
                                  "--hparams 'lr=1,oops'", "--max-points 3"])
def test_bad_argument_prints_usage_and_does_not_run(shell, capsys, line):
    shell.user_ns.pop("ran", None)
    res = shell.run_cell(f"%%monitor {line}\nran = True\n")
    assert not res.success
    assert "ran" not in shell.user_ns
    err = capsys.readouterr()
    assert "usage: %%monitor" in err.out + err.err


def test_exception_propagates_unchanged(shell):
    res = shell.run_cell("%%monitor --name boom\nraise ValueError('inner problem')\n")
    assert isinstance(res.error_in_exec, ValueError)
    assert str(res.error_in_exec) == "inner problem"
    run = shell.user_ns["nbmonitor"].last_run()
    assert run.status == "failed" and "inner problem" in run.error


def test_hparams_and_options_reach_the_run(shell):
    res = shell.run_cell("%%monitor -n hp --hparams lr=0.1,arch=mlp --total-steps 50\npass\n")
    assert res.success
    run = shell.user_ns["nbmonitor"].last_run()
    assert run.hparams == {"lr": 0.1, "arch": "mlp"}
    assert run.total_steps == 50


def test_every_magic_option_is_a_monitor_keyword(shell):
    import inspect

    from nbmonitor.magic import MonitorMagics
    from nbmonitor.session import Session
    parser = MonitorMagics.monitor.parser
    dests = {a.dest for a in parser._actions if a.dest != "help"}
    params = set(inspect.signature(Session.__init__).parameters)
    assert dests <= params, dests - params
