fn redis_url() -> String {
    std::env::var("RECETE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A key prefix of its own on the shared Redis; every key under it is deleted with the guard.
pub struct TestRedis {
    pub url: String,
    pub prefix: String,
}

impl TestRedis {
    pub fn new() -> Self {
        Self::on(redis_url())
    }

    /// A prefix on the Redis at `url` (a private server).
    pub fn on(url: String) -> Self {
        Self { url, prefix: format!("recete-test-{}", uuid::Uuid::new_v4().simple()) }
    }

    pub fn client(&self) -> anyhow::Result<redis::Client> {
        Ok(redis::Client::open(self.url.as_str())?)
    }

    /// Keys currently under the prefix, queue keys included (for tests that check or wipe them).
    pub async fn keys(&self) -> anyhow::Result<Vec<String>> {
        let mut connection = self.client()?.get_multiplexed_async_connection().await?;
        let mut keys: Vec<String> =
            redis::cmd("KEYS").arg(format!("{}:*", self.prefix)).query_async(&mut connection).await?;
        let queue_keys: Vec<String> =
            redis::cmd("KEYS").arg(format!("{{{}:*", self.prefix)).query_async(&mut connection).await?;
        keys.extend(queue_keys);
        Ok(keys)
    }

    /// Deletes every key under the prefix: what `FLUSHALL` does to this test's data, without
    /// touching tests running beside it.
    pub async fn wipe(&self) -> anyhow::Result<usize> {
        let keys = self.keys().await?;
        if !keys.is_empty() {
            let mut connection = self.client()?.get_multiplexed_async_connection().await?;
            redis::cmd("DEL").arg(&keys).exec_async(&mut connection).await?;
        }
        Ok(keys.len())
    }
}

impl Default for TestRedis {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let url = self.url.clone();
        let prefix = self.prefix.clone();
        let _ = std::thread::spawn(move || {
            let client = redis::Client::open(url)?;
            let mut connection = client.get_connection()?;
            // Plain keys, and queue keys under a `{prefix:queue}` hash tag.
            for pattern in [format!("{prefix}:*"), format!("{{{prefix}:*")] {
                let keys: Vec<String> = redis::cmd("KEYS").arg(&pattern).query(&mut connection)?;
                if !keys.is_empty() {
                    redis::cmd("DEL").arg(keys).exec(&mut connection)?;
                }
            }
            // apalis registers every queue in one global sorted set.
            let registered: Vec<String> =
                redis::cmd("ZRANGE").arg("core:apalis:queues:list").arg(0).arg(-1).query(&mut connection)?;
            let ours: Vec<&String> = registered.iter().filter(|member| member.contains(prefix.as_str())).collect();
            if !ours.is_empty() {
                redis::cmd("ZREM").arg("core:apalis:queues:list").arg(ours).exec(&mut connection)?;
            }
            anyhow::Ok(())
        })
        .join();
    }
}
