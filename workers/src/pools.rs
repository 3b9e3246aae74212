//! The worker pools a process can run; `recete worker --queues a,b` picks some, the default is all.

use std::fmt;
use std::str::FromStr;

use recete_config::Settings;
use recete_jobs::QueueName;
use recete_platform::config::PoolSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pool {
    OrderEvents,
    WhatsAppEvents,
    Messages,
    Knowledge,
    Conversations,
    Imports,
    Webhooks,
}

impl Pool {
    pub const ALL: &'static [Pool] = &[
        Pool::OrderEvents,
        Pool::WhatsAppEvents,
        Pool::Messages,
        Pool::Knowledge,
        Pool::Conversations,
        Pool::Imports,
        Pool::Webhooks,
    ];

    pub fn queue(&self) -> QueueName {
        match self {
            Self::OrderEvents => QueueName::OrderEvents,
            Self::WhatsAppEvents => QueueName::WhatsAppEvents,
            Self::Messages => QueueName::Messages,
            Self::Knowledge => QueueName::Knowledge,
            Self::Conversations => QueueName::Conversations,
            Self::Imports => QueueName::Imports,
            Self::Webhooks => QueueName::Webhooks,
        }
    }

    pub fn name(&self) -> &'static str {
        self.queue().as_str()
    }

    pub fn settings<'a>(&self, settings: &'a Settings) -> &'a PoolSettings {
        match self {
            Self::OrderEvents => &settings.pools.order_events,
            Self::WhatsAppEvents => &settings.pools.whatsapp_events,
            Self::Messages => &settings.pools.messages,
            Self::Knowledge => &settings.pools.knowledge,
            Self::Conversations => &settings.pools.conversations,
            Self::Imports => &settings.pools.imports,
            Self::Webhooks => &settings.pools.webhooks,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_are_chosen_by_name() {
        assert_eq!(select(&[]), Ok(Pool::ALL.to_vec()));
        assert_eq!(select(&["order-events".into()]), Ok(vec![Pool::OrderEvents]));
        let error = select(&["emails".into()]).expect_err("unknown");
        assert!(error.contains("unknown queue `emails`") && error.contains("order-events"), "{error}");
    }
}
