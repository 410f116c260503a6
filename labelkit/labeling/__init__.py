"""Who gets which task and what happens to it: the queue and its locks, submissions and
drafts, the overlap share, assignments, gold tasks, predictions and active learning,
the counters that keep progress, and review."""
