mod commerce;
mod faults;
mod queue;
mod support;
