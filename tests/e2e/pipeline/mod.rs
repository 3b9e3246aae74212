mod commerce;
mod queue;
mod support;
