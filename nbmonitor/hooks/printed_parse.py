"""The grammar of printed metrics: one line in, ``(name, value, is_percent)`` out.

What a line may hold (README "Printed metrics" lists them with examples):

- ``name: number`` and ``name=number`` anywhere (``loss: 0.31``, ``val_acc=0.91``);
- ``name number`` as a whole field between separators (``,`` ``|`` tab) or after a
  ``step N:``/``iter N:`` prefix (``step 0: train loss 4.28, val loss 4.28``);
- a dict literal of numbers (``{'loss': 0.69, 'epoch': 0.5}``, Hugging Face);
- boosting eval logs ``[N]<tab>data-metric:number`` (XGBoost) and
  ``[N]<tab>data's metric: number`` (LightGBM), named ``data/metric``;
- epochs: ``Epoch 1/10``, ``Epoch [1/10]``, ``Epoch: [0]``, ``Train Epoch: 1``, a
  label before ``[a/b]`` progress (``Train: 1 [100/1251]``), ``[1,  2000]``;
- ``[a/b]`` progress, as the special names ``progress`` and ``progress_total``.

Special names: ``step`` (``step``/``iter``/``iteration``/``it``/``global_step``/``batch``
keys and the eval-log round), ``epoch``, ``progress``, ``progress_total``; a line
with nothing but a step or progress gives nothing. A number followed by a unit
(``50.2ms``, ``0.2s``, ``10.65M``), a thousands group (``8,192``), a path, a time of
day or a ratio (``3/4``) is not a value.
"""
from __future__ import annotations

import ast
import re

NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|nan|inf|[-+]inf"
_END = r"(?![\w.:/\[(|]|,\d)"  # no unit, path, ratio, thousands group, tqdm bar
_WORD = r"[A-Za-z][\w./\-@]*"
_NAME = rf"{_WORD}(?: {_WORD})?"
# name: number / name=number (a colon needs a space after it: not a time or a path).
_PAIR = re.compile(rf"(?<![\w./\-@'\"])(?P<name>{_NAME})(?:\s*=\s*|:\s+)"
                   rf"(?P<value>{NUM})(?!\s*%\|)(?P<pct>%?){_END}")
# A whole field "name number", optionally "(running mean)" after it (timm, ImageNet).
_FIELD = re.compile(rf"\s*(?P<name>{_NAME})\s+(?P<value>{NUM})(?P<pct>%?)"
                    rf"(?:\s*\(\s*(?:{NUM})\s*%?\s*\))?\s*")
_PREFIX = re.compile(r"^\s*(?P<key>step|iter|iteration|it|epoch|batch)\s+(?P<value>\d+)\s*:",
                     re.I)
_SEPS = re.compile(r"[,|\t]")
_EVAL_LOG = re.compile(r"^\[(?P<round>\d+)\]\t(?P<rest>.*)$")
_XGB_FIELD = re.compile(rf"(?P<data>[\w.@]+)-(?P<metric>[\w@.\-]+):(?P<value>{NUM})"
                        rf"(?:\+(?:{NUM}))?")
_LGB_FIELD = re.compile(rf"(?P<data>[\w.@\-]+)'s (?P<metric>[\w@.\-]+): (?P<value>{NUM})"
                        rf"(?: \+ (?:{NUM}))?")
_EPOCH = [re.compile(r"\bepoch\s*:?\s*\[?\s*(\d+)\s*/\s*\d+\s*\]?", re.I),  # Epoch 1/10
          re.compile(r"\bepoch(?:\(\w+\))?\s*:?\s*\[(\d+)\]", re.I),          # Epoch: [0]
          re.compile(r"^\s*\[\s*(\d+),\s*\d+\]")]                             # [1,  2000]
_PROGRESS = re.compile(r"\[\s*(\d+)\s*/\s*(\d+)\s*(?:\(\s*\d+%\)\s*)?\]")
_PAIR_PROGRESS = re.compile(r"^\s*\[\s*\d+,\s*(\d+)\]")
_BEFORE_PROGRESS = re.compile(r"\s*\[\s*\d+\s*/")
# Not lines of metrics: LightGBM's own log, scikit-learn's per-fit CV report, and
# reprs of configs (Namespace(lr=0.1, ...)).
_NOT_METRICS = re.compile(r"^(?:\[LightGBM\]|\[CV\b|[A-Za-z_][\w.]*\(.*=.*\)$)")
_LOG_LEVEL = re.compile(r"^(?:trace|debug|info|warning|warn|error|critical)_(?=.)")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

STEP_KEYS = {"step", "global_step", "iter", "iteration", "it", "batch"}
# Not metrics: places, sizes, counts and settings; durations (``time 0.3``, ``Data 0.01``
# loading time, ``eta``) are not asked for.
SKIP_WORDS = {"http", "https", "file", "line", "pid", "port", "seed", "version", "id",
              "size", "shape", "dim", "rank", "device", "cuda", "gpu", "worker", "workers",
              "total", "samples", "n", "num", "params", "parameters", "epochs", "v_num",
              "time", "data", "eta", "steps", "examples"}
# Names that make "name number" fields count as metrics on a line with no prefix.
_METRIC_WORDS = ("loss", "acc", "lr", "ppl", "perplexity", "mfu", "norm", "f1", "auc",
                 "error", "score", "reward", "bleu", "rouge", "map", "iou", "dice", "psnr",
                 "mse", "mae", "rmse")
Pair = tuple[str, float, bool]


def normalize(name: str) -> str:
    """Lower-case, spaces to ``_``, dots ending a word dropped: ``Avg. loss`` -> ``avg_loss``."""
    name = re.sub(r"\.(?=\s|$)", "", name.strip())
    return re.sub(r"\s+", "_", name).lower()


def _special(name: str) -> str:
    """``train_epoch`` -> ``epoch``; step keys -> ``step``; else the name."""
    if name in STEP_KEYS:
        return "step"
    if name == "epoch" or name.endswith("_epoch"):
        return "epoch"
    return name


_SPECIAL = {"step", "epoch", "progress", "progress_total"}


def _keep(name: str) -> bool:
    if name in _SPECIAL:
        return True
    words = name.split("_")
    return (name not in SKIP_WORDS and words[-1] not in SKIP_WORDS
            and words[0] not in ("num", "number"))


def _in_prose(text: str, start: int) -> bool:
    """Whether the label ending at a colon began earlier, in a sentence (``the final
    loss:``, ``will be:``): a word of letters right before it, one space apart."""
    before = text[:start]
    if not before.endswith(" ") or before.endswith("  "):
        return False
    tok = before[:-1].rsplit(None, 1)[-1] if before[:-1].strip() else ""
    return tok.replace("_", "").isalpha()


def _number(v: object) -> float | None:
    """A dict value as a number: ints, floats and numeric strings (Hugging Face
    prints ``{'loss': '0.6931'}``); None otherwise."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str) and re.fullmatch(NUM, v.strip()):
        return float(v)
    return None


def _dict_line(text: str) -> list[Pair] | None:
    """A printed dict of numbers (``{'loss': 0.69}``); None when the line is not a dict."""
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        d = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if not isinstance(d, dict) or not d:
        return []
    values = {k: _number(v) for k, v in d.items()}
    if not all(isinstance(k, str) and v is not None for k, v in values.items()):
        return []  # a config or a record, not a line of metrics
    out = [(_special(normalize(k)), v, False) for k, v in values.items()]
    return [p for p in out if _keep(p[0])]


def _eval_log(m: re.Match) -> list[Pair]:
    out: list[Pair] = []
    for field in m.group("rest").split("\t"):
        f = _XGB_FIELD.fullmatch(field.strip()) or _LGB_FIELD.fullmatch(field.strip())
        if f is not None:
            out.append((f"{f.group('data')}/{f.group('metric')}".lower(),
                        float(f.group("value")), False))
    return [("step", float(m.group("round")), False), *out] if out else []


def parse_line(line: str) -> list[Pair]:
    """The ``(name, value, is_percent)`` pairs of one printed line, in line order."""
    text = _ANSI.sub("", line).strip()
    if not text or _NOT_METRICS.match(text):
        return []
    d = _dict_line(text)
    if d is not None:
        return d
    m = _EVAL_LOG.match(line.strip(" \r\n"))
    if m is not None:
        return _eval_log(m)
    found: list[tuple[int, str, float, bool]] = []
    taken: list[tuple[int, int]] = []  # spans already read (epoch and progress forms)

    def free(a: int, b: int) -> bool:
        return all(b <= x or a >= y for x, y in taken)

    for pattern in _EPOCH:
        for e in pattern.finditer(text):
            if free(*e.span()):
                taken.append(e.span())
                found.append((e.start(), "epoch", float(e.group(1)), False))
    for p in _PROGRESS.finditer(text):
        if free(*p.span()):
            taken.append(p.span())
            found += [(p.start(), "progress", float(p.group(1)), False),
                      (p.start(), "progress_total", float(p.group(2)), False)]
            break
    pp = _PAIR_PROGRESS.match(text)
    if pp is not None:
        found.append((pp.start(), "progress", float(pp.group(1)), False))
    rest_at = 0
    prefix = _PREFIX.match(text)
    if prefix is not None:
        rest_at = prefix.end()
        found.append((0, _special(prefix.group("key").lower()), float(prefix.group("value")),
                      False))
        d = _dict_line(text[rest_at:].strip())  # epoch 0: {'accuracy': 0.77, 'f1': 0.84}
        if d:
            return [(found[-1][1], found[-1][2], False), *d]
    # "name number" fields: after a step/iter prefix, or between separators.
    fields, pos = [], rest_at
    for part in _SEPS.split(text[rest_at:]):
        f = _FIELD.fullmatch(part)
        if f is not None and free(pos, pos + len(part)):
            fields.append((pos + f.start("name"), normalize(f.group("name")),
                           float(f.group("value")), bool(f.group("pct"))))
        pos += len(part) + 1
    several = prefix is not None or _SEPS.search(text[rest_at:]) is not None
    if fields and several and (prefix is not None or any(
            _special(n) in ("step", "epoch") or any(w in n for w in _METRIC_WORDS)
            for _, n, _, _ in fields)):
        for at, name, value, pct in fields:
            found.append((at, _special(name), value, pct))
            taken.append((at, at + 1))
    for m in _PAIR.finditer(text):
        if not free(m.start(), m.end()) or _in_prose(text, m.start()):
            continue
        name = _LOG_LEVEL.sub("", normalize(m.group("name")))  # INFO loss: -> loss
        if (m.group("value").isdigit() and _BEFORE_PROGRESS.match(text, m.end())
                and not any(w in name for w in _METRIC_WORDS)):  # "Train: 1 [100/1251]"
            name = "epoch"
        found.append((m.start(), _special(name), float(m.group("value")), bool(m.group("pct"))))
    found.sort(key=lambda x: x[0])
    out, seen = [], set()
    for _, name, value, pct in found:
        if name in seen or not _keep(name):
            continue
        seen.add(name)
        out.append((name, value, pct))
    if all(n in ("step", "progress", "progress_total") for n, _, _ in out):
        return []  # a position with nothing measured
    return out
