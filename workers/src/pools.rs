//! The worker pools a process can run; `recete worker --queues a,b` picks some, the default is all.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pool {}

impl Pool {
    pub const ALL: &'static [Pool] = &[];

    pub fn name(&self) -> &'static str {
        match *self {}
    }
}

impl fmt::Display for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Pool {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.iter().find(|pool| pool.name() == s).copied().ok_or_else(|| {
            format!(
                "unknown queue `{s}`; known queues: {}",
                Self::ALL.iter().map(Pool::name).collect::<Vec<_>>().join(", ")
            )
        })
    }
}

/// The pools named on the command line, or all of them when none is named.
pub fn select(names: &[String]) -> Result<Vec<Pool>, String> {
    if names.is_empty() {
        return Ok(Pool::ALL.to_vec());
    }
    names.iter().map(|name| name.trim().parse()).collect()
}
