mod commerce;
mod permutations;
mod queue;
mod support;
