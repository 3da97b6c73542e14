"""Which loss belongs to which optimizer step, and how the losses of a step add up:
GANs, actor-critic, gradient accumulation (with and without division, GradScaler,
autocast), LBFGS closures, torch.compile, zero_grad(set_to_none=False)."""
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import nbmonitor  # noqa: E402


def values(run, name):
    return run.buffer.series(name).arrays()[1].tolist()


def steps(run, name):
    return run.buffer.series(name).arrays()[0].tolist()


def dcgan(iterations=30, loader=False):
    """The public DCGAN tutorial's loop, small: two optimizers, D's loss from two
    backward calls (real, then a detached fake), G's loss reaching D's weights."""
    torch.manual_seed(0)
    netD = nn.Sequential(nn.Linear(4, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1), nn.Sigmoid())
    netG = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 4))
    optimizerD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=1e-4, betas=(0.5, 0.999))
    criterion = nn.BCELoss()
    data = torch.utils.data.DataLoader(torch.randn(iterations * 16, 4), batch_size=16)
    errDs, errGs = [], []
    with nbmonitor.monitor("gan") as run:
        batches = data if loader else (torch.randn(16, 4) for _ in range(iterations))
        for real in batches:
            netD.zero_grad()
            label = torch.full((16, 1), 1.0)
            errD_real = criterion(netD(real), label)
            errD_real.backward()
            fake = netG(torch.randn(16, 3))
            label.fill_(0.0)
            errD_fake = criterion(netD(fake.detach()), label)
            errD_fake.backward()
            errD = errD_real + errD_fake
            optimizerD.step()
            netG.zero_grad()
            label.fill_(1.0)
            errG = criterion(netD(fake), label)
            errG.backward()
            optimizerG.step()
            errDs.append(errD.item())
            errGs.append(errG.item())
    return run, errDs, errGs


@pytest.mark.parametrize("loader", [False, True], ids=["generated", "dataloader"])
def test_dcgan_records_one_loss_and_lr_per_optimizer_by_variable_name(loader):
    run, errDs, errGs = dcgan(30, loader)
    assert values(run, "train/loss/optimizerD") == pytest.approx(errDs, rel=1e-6)
    assert values(run, "train/loss/optimizerG") == pytest.approx(errGs, rel=1e-6)
    assert steps(run, "train/loss/optimizerD") == list(range(1, 31))
    assert values(run, "lr/optimizerD") == pytest.approx([2e-4] * 30)
    assert values(run, "lr/optimizerG") == pytest.approx([1e-4] * 30)
    assert run.step == 30, "global step: the most frequent optimizer's steps"
    assert "train/loss" not in run.buffer and "lr" not in run.buffer
    from nbmonitor.grouping import group_of
    assert group_of("train/loss/optimizerD") == group_of("train/loss/optimizerG") == "loss"
    how = [e.message for e in run.events if e.kind == "accumulation"]
    assert how == ["train/loss/optimizerD: sum of 2 losses of one batch per step"]


def test_actor_critic_one_optimizer_per_head_each_at_its_own_step_count():
    torch.manual_seed(1)
    body = nn.Linear(6, 8)
    actor, critic = nn.Linear(8, 2), nn.Linear(8, 1)
    opt_actor = torch.optim.SGD(actor.parameters(), lr=0.01)
    opt_critic = torch.optim.SGD([*critic.parameters(), *body.parameters()], lr=0.02)
    a_losses, c_losses = [], []
    with nbmonitor.monitor("ac") as run:
        for i in range(24):
            s = torch.randn(32, 6)
            h = torch.relu(body(s))
            critic_loss = critic(h).pow(2).mean()
            actor_loss = -torch.log_softmax(actor(h.detach()), -1)[:, 0].mean()
            opt_actor.zero_grad()
            opt_critic.zero_grad()
            (actor_loss + critic_loss).backward()
            opt_critic.step()
            c_losses.append(critic_loss.item())
            if i % 2 == 0:  # the actor learns every other step
                opt_actor.step()
                a_losses.append(actor_loss.item())
    # One backward of the sum: each optimizer's loss is that sum at its own steps.
    total = [a + c for a, c in zip([-1] * 0 + a_losses, c_losses[::2])]
    assert values(run, "train/loss/opt_actor") == pytest.approx(total, rel=1e-5)
    assert steps(run, "train/loss/opt_actor") == list(range(1, 13))
    assert steps(run, "train/loss/opt_critic") == list(range(1, 25))
    assert run.step == 24


def test_actor_critic_separate_backwards():
    torch.manual_seed(2)
    actor, critic = nn.Linear(4, 2), nn.Linear(4, 1)
    pi_opt = torch.optim.Adam(actor.parameters(), lr=1e-3)
    v_opt = torch.optim.Adam(critic.parameters(), lr=1e-3)
    seen_pi, seen_v = [], []
    with nbmonitor.monitor("ac2") as run:
        for _ in range(15):
            s = torch.randn(8, 4)
            v_loss = critic(s).pow(2).mean()
            v_opt.zero_grad()
            v_loss.backward()
            v_opt.step()
            pi_loss = -torch.log_softmax(actor(s), -1)[:, 1].mean()
            pi_opt.zero_grad()
            pi_loss.backward()
            pi_opt.step()
            seen_pi.append(pi_loss.item())
            seen_v.append(v_loss.item())
    assert values(run, "train/loss/pi_opt") == pytest.approx(seen_pi, rel=1e-6)
    assert values(run, "train/loss/v_opt") == pytest.approx(seen_v, rel=1e-6)


def accumulate(divide: bool, scaler: bool = False, autocast: bool = False, accum: int = 4,
               accumulation=None, set_to_none=True, clip=False):
    """The AMP accumulation recipe on generated data; returns (run, effective losses)."""
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    grad_scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 10) if scaler else None
    effective, micro = [], []
    options = {"accumulation": accumulation} if accumulation else {}
    with nbmonitor.monitor("acc", **options) as run:
        for i in range(8 * accum):
            X, y = torch.randn(16, 8), torch.randn(16, 1)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                loss = nn.functional.mse_loss(model(X).float(), y)
                if divide:
                    loss = loss / accum
            micro.append(loss.item())
            if grad_scaler is not None:
                grad_scaler.scale(loss).backward()
            else:
                loss.backward()
            if (i + 1) % accum == 0:
                if clip:
                    if grad_scaler is not None:
                        grad_scaler.unscale_(opt)
                    nn.utils.clip_grad_norm_(model.parameters(), 0.5)
                if grad_scaler is not None:
                    grad_scaler.step(opt)
                    grad_scaler.update()
                else:
                    opt.step()
                opt.zero_grad(set_to_none=set_to_none)
                effective.append(sum(micro) if divide else sum(micro) / accum)
                micro = []
    return run, effective


@pytest.mark.parametrize("divide", [True, False], ids=["divided", "not-divided"])
@pytest.mark.parametrize("scaler,autocast", [(False, False), (True, False), (True, True),
                                             (False, True)],
                         ids=["plain", "gradscaler", "gradscaler-bf16", "bf16"])
def test_accumulation_records_the_effective_batch_loss(divide, scaler, autocast):
    run, effective = accumulate(divide, scaler, autocast)
    assert values(run, "train/loss") == pytest.approx(effective, rel=1e-5)
    assert steps(run, "train/loss") == list(range(1, 9))
    how = [e.message for e in run.events if e.kind == "accumulation"]
    expected = ("sum of 4 micro-batch losses, each divided by 4" if divide
                else "mean of 4 micro-batch losses")
    assert how == [f"train/loss: {expected} per step"], "said once"


def test_accumulation_override_sum():
    run, effective = accumulate(divide=False, accumulation="sum")
    assert values(run, "train/loss") == pytest.approx([4 * e for e in effective], rel=1e-5)
    assert [e.message for e in run.events if e.kind == "accumulation"] == [
        "train/loss: sum (--accumulation sum) per step"]


def test_clipping_and_zero_grad_set_to_none_false_change_nothing():
    run, effective = accumulate(divide=True, scaler=True, clip=True, set_to_none=False)
    assert values(run, "train/loss") == pytest.approx(effective, rel=1e-5)


def test_bad_accumulation_value_is_one_clear_error():
    with pytest.raises(ValueError, match="accumulation must be 'sum' or 'mean'"):
        nbmonitor.monitor("x", accumulation="median")


def test_lbfgs_one_point_per_step_the_closures_last_loss():
    torch.manual_seed(4)
    model = nn.Linear(5, 1)
    X, y = torch.randn(64, 5), torch.randn(64, 1)
    opt = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=5)
    last = []
    with nbmonitor.monitor("lbfgs") as run:
        for _ in range(6):
            def closure():
                opt.zero_grad()
                loss = nn.functional.mse_loss(model(X), y)
                loss.backward()
                last[-1:] = [loss.item()] if False else last[-1:]
                closure.last = loss.item()
                return loss
            opt.step(closure)
            last.append(closure.last)
    assert steps(run, "train/loss") == list(range(1, 7))
    assert values(run, "train/loss") == pytest.approx(last, rel=1e-6)


def test_torch_compile_model():
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    compiled = torch.compile(model, backend="eager")
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    seen = []
    with nbmonitor.monitor("compiled") as run:
        for _ in range(6):
            X, y = torch.randn(32, 8), torch.randn(32, 1)
            loss = nn.functional.mse_loss(compiled(X), y)
            opt.zero_grad()
            (loss / 2).backward()
            loss2 = nn.functional.mse_loss(compiled(X + 1), y)
            (loss2 / 2).backward()
            opt.step()
            seen.append((loss.item() + loss2.item()) / 2)
    assert values(run, "train/loss") == pytest.approx(seen, rel=1e-5)


def test_a_step_skipped_by_grad_scaler_takes_its_losses_with_it():
    torch.manual_seed(6)
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 10)
    kept = []
    with nbmonitor.monitor("skip") as run:
        for i in range(6):
            loss = model(torch.randn(8, 4)).pow(2).mean()
            opt.zero_grad()
            scaler.scale(loss).backward()
            if i == 2:
                model.weight.grad[0, 0] = float("inf")  # the scaler skips this step
            else:
                kept.append(loss.item())
            scaler.step(opt)
            scaler.update()
    assert values(run, "train/loss") == pytest.approx(kept, rel=1e-6)
    assert steps(run, "train/loss") == [1, 2, 3, 4, 5]
    assert not [e for e in run.events if e.kind == "accumulation"]


def test_total_steps_of_a_gan_count_batches_not_backward_calls():
    torch.manual_seed(7)
    netD, netG = nn.Linear(4, 1), nn.Linear(2, 4)
    optimizerD = torch.optim.SGD(netD.parameters(), lr=0.01)
    optimizerG = torch.optim.SGD(netG.parameters(), lr=0.01)
    loader = torch.utils.data.DataLoader(torch.randn(80, 4), batch_size=8)
    with nbmonitor.monitor("gan-total", epochs=2) as run:
        for epoch in range(2):
            for real in loader:
                netD.zero_grad()
                netD(real).mean().backward()
                netD(netG(torch.randn(8, 2)).detach()).mean().backward()
                optimizerD.step()
                netG.zero_grad()
                (-netD(netG(torch.randn(8, 2))).mean()).backward()
                optimizerG.step()
    assert run.total_steps == 20 and run.step == 20
