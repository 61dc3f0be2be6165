"""What each hyperparameter may be, checked before a run: a bad value would otherwise fail deep in
Keras, in the Trainer or a Tuner trial, with an error that names neither the setting nor where it was
given (`dropout: 1.5` -> "Invalid value 1.5 received for `rate`"). Shared by `--hparams`
(pipeline/configs.py) and the declaration's `tuning:` ranges (models/declaration_parts.py)."""
from typing import Any, Callable, Dict, Optional, Tuple


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# name -> (what it must be, in words; the check)
RULES: Dict[str, Tuple[str, Callable[[Any], bool]]] = {
    "batch_size": ("a whole number >= 1", _whole),
    "learning_rate": ("a number > 0", lambda v: _number(v) and v > 0),
    "hidden_units": ("a list of whole numbers >= 1, one per hidden layer, e.g. [64, 32]",
                     lambda v: isinstance(v, list) and all(_whole(u) for u in v)),
    "dropout": ("a number from 0 up to, not including, 1", lambda v: _number(v) and 0 <= v < 1),
    "embedding_scale": ("a number > 0", lambda v: _number(v) and v > 0),
    # `tuning:` only: the hidden layers KerasTuner searches (each next layer half as wide)
    "hidden_layers": ("a whole number >= 1", _whole),
    "first_layer_units": ("a whole number >= 1", _whole),
}


def problem(name: str, value: Any) -> Optional[str]:
    """Why `value` cannot be hyperparameter `name`; None when it can (or the name has no rule)."""
    rule = RULES.get(name)
    if rule is None or rule[1](value):
        return None
    return f"{name} must be {rule[0]}, got {value!r}"
