"""Hugging Face ``Trainer`` capture on a tiny randomly initialised BERT (no download):
what the Trainer logs becomes series equal to its own ``state.log_history``; Stop,
the lr knob, totals, epochs; the torch hooks add no second loss series."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import nbmonitor  # noqa: E402
from nbmonitor.hooks.hf_trainer import series_name  # noqa: E402

pytestmark = pytest.mark.framework


class Tokens(torch.utils.data.Dataset):
    """Token ids as tensors (no tokenizer): label is whether the first id is large."""

    def __init__(self, n: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randint(0, 50, (n, 8), generator=g)
        self.y = (self.x[:, 0] > 25).long()

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.x[i], "attention_mask": torch.ones(8, dtype=torch.long),
                "labels": self.y[i]}


def trainer(tmp_path, *, epochs=2, lr=1e-3, logging_steps=2, eval_steps=4, **kw):
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=16, num_labels=2)
    args = TrainingArguments(
        output_dir=str(tmp_path / "out"), per_device_train_batch_size=8,
        num_train_epochs=epochs, logging_steps=logging_steps, eval_strategy="steps",
        eval_steps=eval_steps, report_to=[], save_strategy="no", use_cpu=True,
        learning_rate=lr, disable_tqdm=False, **kw)
    return Trainer(model=BertForSequenceClassification(cfg), args=args,
                   train_dataset=Tokens(64, 1), eval_dataset=Tokens(16, 2))


def history(tr, key, early=()):
    """(steps, values) of ``key`` in the Trainer's own log history."""
    rows = [r for r in [*early, *tr.state.log_history] if key in r]
    return [r["step"] for r in rows], [r[key] for r in rows]


def series(run, name):
    steps, values, _ = run.buffer.series(name).arrays()
    return steps.tolist(), values.tolist()


def test_train_and_evaluate_record_what_the_trainer_logs(tmp_path, capsys):
    tr = trainer(tmp_path)
    with nbmonitor.monitor("hf", meters=False, store=False) as run:
        before = tr.evaluate()  # a top-level evaluate() before training: step 0
        early = list(tr.state.log_history)  # train() starts a new state
        tr.train()
        final = tr.evaluate()
    assert run.status == "finished"
    assert run.total_steps == tr.state.max_steps == 16 and run.step == 16
    assert run.epoch == 2
    for key in ("loss", "grad_norm", "learning_rate", "eval_loss", "eval_runtime"):
        steps, values = history(tr, key, early)
        got_steps, got = series(run, series_name(key))
        assert got_steps == steps and got == pytest.approx(values), key
    # Top-level evaluate() calls: the first and last val/loss points.
    assert series(run, "val/loss")[0][0] == 0
    assert series(run, "val/loss")[1][0] == pytest.approx(before["eval_loss"])
    assert series(run, "val/loss")[0][-1] == 16
    assert series(run, "val/loss")[1][-1] == pytest.approx(final["eval_loss"])
    # No second loss from the torch hooks, no series from the printed dict lines.
    assert series(run, "train/loss")[0] == list(range(2, 17, 2))
    names = {s.name for s in run.buffer}
    assert not names & {"loss", "learning_rate", "eval_loss", "train_loss", "train_runtime"}
    assert "{'loss'" in capsys.readouterr().out, "the Trainer's own prints still show"
    assert any(e.kind == "trainer" and "train_loss" in e.data for e in run.events)


def test_stop_ends_trainer_after_the_current_step(tmp_path):
    tr = trainer(tmp_path, epochs=4, logging_steps=1, eval_steps=100)
    from transformers import TrainerCallback

    class AskStop(TrainerCallback):  # a click on Stop at step 5
        def on_step_end(self, args, state, control, **kw):
            if state.global_step == 5:
                nbmonitor.current_run().request_stop()

    tr.add_callback(AskStop)
    with nbmonitor.monitor("hf-stop", meters=False, store=False) as run:
        tr.train()
        after = "the cell went on"
    assert after and run.status == "stopped"
    assert tr.state.global_step in (5, 6) and run.step == tr.state.global_step
    assert run.total_steps == 32
    assert series(run, "train/loss")[0] == list(range(1, tr.state.global_step + 1))


def test_lr_knob_changes_the_trainers_optimizer(tmp_path):
    tr = trainer(tmp_path, epochs=1, logging_steps=1, eval_steps=100, lr_scheduler_type="constant")
    from transformers import TrainerCallback
    seen = {}

    class Turn(TrainerCallback):
        def on_step_end(self, args, state, control, optimizer=None, **kw):
            run = nbmonitor.current_run()
            if state.global_step == 3:
                assert run.knobs["lr"] == pytest.approx(1e-3)
                assert run.set_control("lr", 2e-4)
            seen[state.global_step] = optimizer.param_groups[0]["lr"]

    tr.add_callback(Turn)
    with nbmonitor.monitor("hf-knob", meters=False, store=False) as run:
        tr.train()
    assert seen[3] == pytest.approx(1e-3) and seen[4] == pytest.approx(2e-4)
    lr = dict(zip(*series(run, "lr")))
    assert lr[3] == pytest.approx(1e-3) and lr[5] == pytest.approx(2e-4)
    ev = [e for e in run.events if e.data.get("knob") == "lr"]
    assert len(ev) == 1 and ev[0].data["new"] == pytest.approx(2e-4)


def test_hooks_are_removed_after_the_run(tmp_path):
    from transformers import Trainer
    train, evaluate = Trainer.train, Trainer.evaluate
    from transformers import Seq2SeqTrainer
    with nbmonitor.monitor("hf-rm", meters=False, store=False):
        assert Trainer.train is not train
        # Subclasses go through the patched methods (Seq2SeqTrainer.evaluate calls super).
        assert Seq2SeqTrainer.train is Trainer.train
    assert Trainer.train is train and Trainer.evaluate is evaluate
