"""How long the Trainer trains without `--train-steps`: a number of passes over the rows it fits
(four fifths of the train split; models/model.py holds the fifth out for early stopping), within
bounds. Apart from models/model.py, which loads TensorFlow, so that the command line's help and the
benchmarks say what it is.

EPOCHS is about what 1,000 steps make over the taxi sample's 9,600 fitted rows (its demo keeps its
length). A fixed 1,000 steps would be a fraction of one pass over large data, and under two over
ggplot2's diamonds (34,500 fitted rows): RMSE 645, against 590-640 at 3,000-6,000 steps, by
schedule (scikit-learn's HistGradientBoosting: 548). MAX_STEPS bounds the Trainer, and each Tuner
trial, on large data (1.3 passes over 1M fitted rows at the default batch size); early stopping may
end training sooner.
"""
import math

EPOCHS, MIN_STEPS, MAX_STEPS = 6, 1000, 20_000
DEFAULT = f"{EPOCHS} passes over the rows fitted, {MIN_STEPS:,} to {MAX_STEPS:,} steps"


def steps_for(fitted: int, batch_size: int) -> int:
    """EPOCHS passes over `fitted` rows in batches of `batch_size`, within MIN_STEPS..MAX_STEPS."""
    return min(MAX_STEPS, max(MIN_STEPS, EPOCHS * math.ceil(fitted / batch_size)))
