"""The real CUDA path: runs only where a GPU is present (skipped on CI here).

``benchmarks/gpu/check.sh`` runs these on a GPU machine (docs/gpu.md).
"""
import warnings

import pytest

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

import nbmonitor  # noqa: E402

SYNC_WARNING = "called a synchronizing CUDA operation"


def mlp():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10)).cuda()
    X = torch.randn(64, 784, device="cuda")
    y = torch.randint(0, 10, (64,), device="cuda")
    return model, X, y


def recorded(run, name="train/loss"):
    _, values, _ = run.buffer.series(name).arrays()
    return values.tolist()


def syncs(fn):
    """How many synchronizing CUDA calls ``fn()`` makes (torch's sync debug mode)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            fn()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return sum(SYNC_WARNING in str(w.message) for w in caught)


def test_monitored_cuda_loop_adds_no_synchronization():
    model, X, y = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    losses = []
    with nbmonitor.monitor("cuda", source="torch") as run:
        torch.cuda.set_sync_debug_mode("error")
        try:
            for _ in range(200):
                loss = torch.nn.functional.cross_entropy(model(X), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.detach())
        finally:
            torch.cuda.set_sync_debug_mode("default")
    assert run.status == "finished"
    values = recorded(run)
    assert len(values) == 200
    assert values == torch.stack(losses).float().cpu().tolist()  # the same float32s
    assert recorded(run, "lr") == [0.01] * 200


def test_bf16_autocast_transformer_syncs_no_more_than_bare():
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(128, 4, 256, dropout=0.0, batch_first=True)
    model = torch.nn.Sequential(torch.nn.TransformerEncoder(layer, 2),
                                torch.nn.Linear(128, 10)).cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    X = torch.randn(8, 32, 128, device="cuda")
    y = torch.randint(0, 10, (8, 32), device="cuda")
    losses = []

    def loop(n):
        for _ in range(n):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = torch.nn.functional.cross_entropy(model(X).reshape(-1, 10).float(),
                                                         y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.detach())

    loop(3)  # warm-up: lazy state, kernels
    bare = syncs(lambda: loop(60))
    losses.clear()
    with nbmonitor.monitor("bf16", source="torch", sample_every=0.05) as run:
        monitored = syncs(lambda: loop(60))
    assert monitored == bare
    assert recorded(run) == torch.stack(losses).cpu().tolist()


def test_grad_scaler_records_the_unscaled_loss_per_step():
    model, X, y = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    scaler = torch.amp.GradScaler("cuda", init_scale=2.0**10, growth_interval=1000)
    losses = []
    with nbmonitor.monitor("amp", source="torch") as run:
        for _ in range(50):
            with torch.autocast("cuda", dtype=torch.float16):
                loss = torch.nn.functional.cross_entropy(model(X), y)
            opt.zero_grad()
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            losses.append(loss.detach().float())
    assert scaler.get_scale() == 2.0**10, "an fp16 overflow skipped a step; the check needs none"
    values = recorded(run)
    assert values == pytest.approx(torch.stack(losses).cpu().tolist(), rel=1e-6)
    assert max(values) < 10, "the scaled loss (x1024) would be far larger"


def test_gradient_accumulation_averages_micro_batch_losses_on_device():
    model, X, y = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    per_step = []
    with nbmonitor.monitor("accum", source="torch") as run:
        torch.cuda.set_sync_debug_mode("error")
        try:
            for _ in range(40):
                micro = []
                for k in range(4):
                    loss = torch.nn.functional.cross_entropy(model(X[k::4]), y[k::4])
                    loss.backward()
                    micro.append(loss.detach())
                opt.step()
                opt.zero_grad()
                per_step.append(torch.stack(micro).mean())
        finally:
            torch.cuda.set_sync_debug_mode("default")
    assert recorded(run) == pytest.approx(torch.stack(per_step).cpu().tolist(), rel=1e-6)


def test_log_of_cuda_tensors_is_asynchronous_and_exact():
    model, X, y = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    accs = []
    with nbmonitor.monitor("log", source="torch") as run:
        torch.cuda.set_sync_debug_mode("error")
        try:
            for _ in range(100):
                out = model(X)
                loss = torch.nn.functional.cross_entropy(out, y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                acc = (out.argmax(1) == y).float().mean()
                nbmonitor.log(acc=acc)
                accs.append(acc)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    steps, values, _ = run.buffer.series("acc").arrays()
    assert values.tolist() == torch.stack(accs).cpu().tolist()
    assert steps.tolist() == list(range(1, 101))  # at the optimizer step of each call


def test_monitor_magic_on_a_cuda_loop_in_ipython():
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext nbmonitor", store_history=False)
    model, X, y = mlp()
    shell.user_ns.update(model=model, X=X, y=y, torch=torch)
    res = shell.run_cell(
        "%%monitor --name magic-cuda --no-print-capture\n"
        "opt = torch.optim.SGD(model.parameters(), lr=0.05)\n"
        "for epoch in range(3):\n"
        "    for _ in range(20):\n"
        "        loss = torch.nn.functional.cross_entropy(model(X), y)\n"
        "        opt.zero_grad(); loss.backward(); opt.step()\n")
    assert res.success, res.error_in_exec
    run = nbmonitor.last_run()
    assert run.name == "magic-cuda" and run.status == "finished"
    assert run.buffer.series("train/loss").count == 60
    assert "gpu0/torch_allocated" in run.buffer  # the torch CUDA meter saw the device


def test_grad_norm_under_grad_scaler_and_accumulation_equals_clip_grad_norm():
    """fp16 GradScaler with two micro-batches a step: one ``grad/norm`` a step, the
    unscaled value ``clip_grad_norm_`` returns, and no sync beyond the bare loop's."""
    model, X, y = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    scaler = torch.amp.GradScaler("cuda", init_scale=2.0**10, growth_interval=1000)
    clipped = []

    def loop(steps, keep):
        for _ in range(steps):
            for k in range(2):
                with torch.autocast("cuda", dtype=torch.float16):
                    loss = torch.nn.functional.cross_entropy(model(X[k::2]), y[k::2]) / 2
                scaler.scale(loss).backward()
            scaler.unscale_(opt)
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf"))
            if keep:
                clipped.append(norm)
            scaler.step(opt)
            scaler.update()
            opt.zero_grad()

    bare = syncs(lambda: loop(20, False))
    with nbmonitor.monitor("amp-norm", source="torch") as run:
        monitored = syncs(lambda: loop(20, True))
    assert monitored == bare
    assert scaler.get_scale() == 2.0**10, "an fp16 overflow skipped a step; the check needs none"
    got = recorded(run, "grad/norm")
    assert len(got) == 20
    assert got == pytest.approx(torch.stack(clipped).float().cpu().tolist(), rel=1e-5)
    assert max(got) < 100, "the scaled gradients (x1024) would be far larger"
