//! The shared Redis connection: one multiplexed, auto-reconnecting connection per process.
//!
//! `rediss://` URLs speak TLS (rustls): the server certificate is checked against the public web
//! roots, or against `redis.ca_file` alone when it is set (a managed service's own CA, or a
//! private one). Every Redis connection of the process, the queue's included, comes from here.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;

use crate::config::RedisSettings;

#[derive(Clone)]
pub struct RedisClient {
    client: redis::Client,
    response_timeout: Duration,
    key_prefix: String,
}

impl RedisClient {
    pub fn new(settings: &RedisSettings) -> Result<Self, redis::RedisError> {
        let url = settings.url.expose_secret();
        let client = match settings.ca_file() {
            None => redis::Client::open(url)?,
            Some(path) => {
                let root_cert = std::fs::read(path).map_err(|error| {
                    std::io::Error::new(error.kind(), format!("cannot read redis.ca_file {}: {error}", path.display()))
                })?;
                let certificates = redis::TlsCertificates { client_tls: None, root_cert: Some(root_cert) };
                redis::Client::build_with_tls(url, certificates)?
            }
        };
        Ok(Self {
            client,
            response_timeout: Duration::from_millis(settings.response_timeout_ms),
            key_prefix: settings.key_prefix.clone(),
        })
    }

    /// The namespaced name of a key: `<prefix>:<name>`.
    pub fn key(&self, name: &str) -> String {
        format!("{}:{}", self.key_prefix, name)
    }

    pub fn key_prefix(&self) -> &str {
        &self.key_prefix
    }

    pub fn raw_client(&self) -> &redis::Client {
        &self.client
    }

    /// A managed connection that reconnects by itself; every command is bounded in time.
    pub async fn connection(&self) -> Result<ConnectionManager, redis::RedisError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.response_timeout))
            .set_response_timeout(Some(self.response_timeout))
            .set_number_of_retries(2);
        ConnectionManager::new_with_config(self.client.clone(), config).await
    }

    /// One PING round trip within the response timeout, on a fresh connection, so a readiness
    /// probe reflects Redis as it is now.
    pub async fn ping(&self) -> Result<(), redis::RedisError> {
        let attempt = async {
            let mut connection = self.client.get_multiplexed_async_connection().await?;
            redis::cmd("PING").query_async::<String>(&mut connection).await.map(|_| ())
        };
        match tokio::time::timeout(self.response_timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(redis::RedisError::from((redis::ErrorKind::Io, "Redis did not answer PING in time"))),
        }
    }
}
