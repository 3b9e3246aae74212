mod commerce;
mod hand_over;
mod permutations;
mod queue;
mod support;
mod wakeups;
