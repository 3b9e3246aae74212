mod batches;
mod commerce;
mod fleet_backlog;
mod hand_over;
mod permutations;
mod queue;
mod support;
mod wakeups;
