use std::net::SocketAddr;

use clap::{Parser, Subcommand};
use recete_platform::ids::{EventId, MerchantId};
use recete_shared::integrations::IntegrationKind;

#[derive(Parser)]
#[command(name = "recete", version, about = "Post-purchase retention backend: API, workers and administration")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Apply database migrations.
    Migrate,
    /// Manage merchants.
    Merchant {
        #[command(subcommand)]
        command: MerchantCommand,
    },
    /// Manage store and WhatsApp integrations.
    Integration {
        #[command(subcommand)]
        command: IntegrationCommand,
    },
    /// Inspect and replay dead-lettered jobs.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Manage product knowledge.
    Products {
        #[command(subcommand)]
        command: ProductsCommand,
    },
    /// Import a CSV file of orders or products (progress on stderr, summary as JSON on stdout).
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Measure retrieval and answers on a labelled question set; prints the figures as JSON.
    Eval {
        /// Folder holding products.json and questions.json.
        #[arg(long, default_value = "eval")]
        dataset: std::path::PathBuf,
    },
    /// Manage who may sign in to the queue board.
    Operators {
        #[command(subcommand)]
        command: OperatorsCommand,
    },
    /// Manage who of a merchant may sign in to the web console.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Manage encryption keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Run the HTTP API.
    Api {
        /// Address to listen on (default: api.listen).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Run worker pools.
    Worker {
        /// Pools to run, comma separated (default: all).
        #[arg(long, value_delimiter = ',')]
        queues: Vec<String>,
        /// Address of the health and metrics listener (default: worker.listen).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Run the API and every worker pool in one process (the local default).
    All {
        /// Address the API listens on (default: api.listen).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Development only: once ready, make a demo merchant (kept in FILE, made once) and tell
        /// its story through the API: products scraped, an order delivered and followed up, a
        /// question answered, a conversation handed to a person.
        #[arg(long, value_name = "FILE")]
        demo: Option<std::path::PathBuf>,
    },
    /// Exit 0 when the instance at URL reports ready (GET URL/readyz).
    Healthcheck {
        /// Base URL of an API or worker, for example http://127.0.0.1:8080.
        url: String,
    },
}

#[derive(Subcommand)]
pub enum MerchantCommand {
    /// Create a merchant and its first API key (printed once, as JSON).
    Create {
        #[arg(long)]
        name: String,
        /// IANA time zone, for example Europe/Istanbul.
        #[arg(long, default_value = "UTC")]
        timezone: String,
    },
}

#[derive(Subcommand)]
pub enum IntegrationCommand {
    /// Create an integration; prints its id, secret and webhook path as JSON.
    Create {
        #[arg(long)]
        merchant: MerchantId,
        #[arg(long, value_parser = parse_kind)]
        kind: IntegrationKind,
        /// Signing secret (the store's webhook secret or Meta's app secret); generated if absent.
        #[arg(long)]
        secret: Option<String>,
        /// Meta's id of the business phone number (whatsapp only).
        #[arg(long)]
        phone_number_id: Option<String>,
        /// The verify token entered in Meta's webhook settings (whatsapp only); generated if absent.
        #[arg(long)]
        verify_token: Option<String>,
        /// The store's myshopify.com domain (shopify only); privacy webhooks from any other shop
        /// are refused. If absent, the shop of the first verified delivery is recorded.
        #[arg(long)]
        shop_domain: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum JobsCommand {
    /// List dead-lettered jobs, newest first, one JSON object per line.
    Dead {
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Replay a dead-lettered job by id, or all of them with --all.
    Retry {
        /// The job's id (the event id shown by `jobs dead`).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<EventId>,
        #[arg(long)]
        all: bool,
    },
}

#[derive(Subcommand)]
pub enum ProductsCommand {
    /// Fetch a product page now, store what it says and embed it; prints the product as JSON.
    Scrape {
        #[arg(long)]
        merchant: MerchantId,
        url: String,
    },
}

#[derive(Subcommand)]
pub enum ImportCommand {
    /// One row per line item; rows sharing an order id are one order (Shopify's and WooCommerce's
    /// order exports read as they are).
    Orders {
        #[command(flatten)]
        file: ImportFile,
        /// Plan follow-ups for delivered orders, as a delivery webhook would.
        #[arg(long)]
        plan_followups: bool,
    },
    /// One row per product, identified by its SKU.
    Products {
        #[command(flatten)]
        file: ImportFile,
    },
    /// One row per customer, with their WhatsApp consent (Shopify's customers export reads as is).
    Customers {
        #[command(flatten)]
        file: ImportFile,
    },
}

#[derive(clap::Args)]
pub struct ImportFile {
    #[arg(long)]
    pub merchant: MerchantId,
    /// The CSV file.
    pub file: std::path::PathBuf,
    /// Country of phone numbers written without `+` (default: the merchant's).
    #[arg(long)]
    pub default_country: Option<String>,
    /// Read `05/03/2026` as the 3rd of May rather than the 5th of March.
    #[arg(long)]
    pub month_first: bool,
}

#[derive(Subcommand)]
pub enum OperatorsCommand {
    /// Add an operator; prints their sign-in token once, as JSON.
    Add {
        #[arg(long)]
        name: String,
        /// admin, operator or read_only.
        #[arg(long)]
        role: recete_ops::operators::Role,
    },
    /// List operators, one JSON object per line.
    List,
    /// Disable an operator; their sessions end at once.
    Disable {
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Add a console user to a merchant; prints their one-time sign-in link once, as JSON.
    Add {
        #[arg(long)]
        merchant: MerchantId,
        /// Their email address, unique across all merchants.
        #[arg(long)]
        email: String,
        /// owner, agent or viewer.
        #[arg(long)]
        role: recete_console::users::Role,
    },
    /// List a merchant's console users, one JSON object per line.
    List {
        #[arg(long)]
        merchant: MerchantId,
    },
    /// Print a new one-time sign-in link for an existing console user (a forgotten password);
    /// their earlier unused links stop working.
    Link {
        #[arg(long)]
        email: String,
    },
    /// Disable a console user; their sessions end at once.
    Disable {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Re-seal every stored secret, personal field and sealed task payload with
    /// crypto.active_key_id, and re-hash every lookup hash with crypto.active_lookup_key_id.
    Rotate,
    /// Print a fresh, complete production [crypto] section (new key ids, sealing key and lookup
    /// key from the operating system's generator) to store as a secret. Reads no configuration.
    Generate,
}

fn parse_kind(value: &str) -> Result<IntegrationKind, String> {
    value.parse()
}
