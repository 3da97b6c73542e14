"""The real CUDA path: runs only where a GPU is present (skipped on CI here)."""
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

import nbmonitor  # noqa: E402


def test_monitored_cuda_loop_adds_no_synchronization():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10)).cuda()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    X = torch.randn(64, 784, device="cuda")
    y = torch.randint(0, 10, (64,), device="cuda")
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
    _, values, _ = run.buffer.series("train/loss").arrays()
    assert len(values) == 200
    assert values.tolist() == pytest.approx(torch.stack(losses).cpu().tolist(), rel=1e-5)
