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
        Self { url: redis_url(), prefix: format!("recete-test-{}", uuid::Uuid::new_v4().simple()) }
    }

    pub fn client(&self) -> anyhow::Result<redis::Client> {
        Ok(redis::Client::open(self.url.as_str())?)
    }

    /// Keys currently under the prefix (for tests that check what was written).
    pub async fn keys(&self) -> anyhow::Result<Vec<String>> {
        let mut connection = self.client()?.get_multiplexed_async_connection().await?;
        let keys: Vec<String> =
            redis::cmd("KEYS").arg(format!("{}:*", self.prefix)).query_async(&mut connection).await?;
        Ok(keys)
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
        let pattern = format!("{}:*", self.prefix);
        let _ = std::thread::spawn(move || {
            let client = redis::Client::open(url)?;
            let mut connection = client.get_connection()?;
            let keys: Vec<String> = redis::cmd("KEYS").arg(&pattern).query(&mut connection)?;
            if !keys.is_empty() {
                redis::cmd("DEL").arg(keys).exec(&mut connection)?;
            }
            anyhow::Ok(())
        })
        .join();
    }
}
