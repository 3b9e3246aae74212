//! What each command of the command line does: [`run`] takes a parsed command line (the
//! arguments are [`crate::cli`]'s) to the command's module and turns its outcome into an exit code.

pub mod admin;
pub mod healthcheck;
pub mod imports;
pub mod knowledge;
pub mod operators;
pub mod users;

use std::process::ExitCode;

use recete_config::Settings;
use recete_shared::imports::ImportKind;
use recete_shared::integrations::{Given, NewIntegration};

use crate::cli::{
    Cli, Command, ImportCommand, IntegrationCommand, JobsCommand, KeysCommand, MerchantCommand, OperatorsCommand,
    ProductsCommand, UsersCommand,
};
use crate::fleet;

pub async fn dispatch(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Migrate => admin::migrate(&settings).await,
        Command::Merchant { command: MerchantCommand::Create { name, timezone } } => {
            admin::create_merchant(&settings, &name, &timezone).await
        }
        Command::Integration {
            command: IntegrationCommand::Create { merchant, kind, secret, phone_number_id, verify_token, shop_domain },
        } => {
            let new = NewIntegration {
                merchant_id: merchant,
                kind,
                secret: secret.as_deref(),
                phone_number_id: phone_number_id.as_deref(),
            };
            let given = Given { verify_token: verify_token.as_deref(), shop_domain: shop_domain.as_deref() };
            admin::create_integration(&settings, new, &given).await
        }
        Command::Jobs { command: JobsCommand::Dead { limit } } => admin::list_dead_jobs(&settings, limit).await,
        Command::Jobs { command: JobsCommand::Retry { id, .. } } => admin::retry_dead_jobs(&settings, id).await,
        Command::Keys { command: KeysCommand::Rotate } => admin::rotate_keys(&settings).await,
        Command::Keys { command: KeysCommand::Generate } => {
            admin::generate_keys();
            Ok(())
        }
        Command::Operators { command: OperatorsCommand::Add { name, role } } => {
            operators::add(&settings, &name, role).await
        }
        Command::Operators { command: OperatorsCommand::List } => operators::list(&settings).await,
        Command::Operators { command: OperatorsCommand::Disable { name } } => {
            operators::disable(&settings, &name).await
        }
        Command::Users { command: UsersCommand::Add { merchant, email, role } } => {
            users::add(&settings, merchant, &email, role).await
        }
        Command::Users { command: UsersCommand::List { merchant } } => users::list(&settings, merchant).await,
        Command::Users { command: UsersCommand::Link { email } } => users::link(&settings, &email).await,
        Command::Users { command: UsersCommand::Disable { email } } => users::disable(&settings, &email).await,
        Command::Products { command: ProductsCommand::Scrape { merchant, url } } => {
            knowledge::scrape_product(&settings, merchant, &url).await
        }
        Command::Eval { dataset } => knowledge::evaluate(&settings, &dataset).await,
        Command::Import { command } => {
            let (kind, file, plan_followups) = match command {
                ImportCommand::Orders { file, plan_followups } => (ImportKind::Orders, file, plan_followups),
                ImportCommand::Products { file } => (ImportKind::Products, file, false),
                ImportCommand::Customers { file } => (ImportKind::Customers, file, false),
            };
            let request = imports::ImportRequest {
                merchant: file.merchant,
                kind,
                file: &file.file,
                plan_followups,
                default_country: file.default_country,
                month_first: file.month_first,
            };
            imports::import(&settings, request).await
        }
        Command::Api { listen } => fleet::run(&settings, fleet::Roles::api(listen)).await,
        Command::Worker { queues, listen } => fleet::run(&settings, fleet::Roles::workers(queues, listen)?).await,
        Command::All { listen, demo: None } => fleet::run(&settings, fleet::Roles::all(listen)).await,
        Command::All { listen, demo: Some(file) } => crate::demo::run_all(settings, listen, file).await,
        Command::Healthcheck { .. } => unreachable!("handled before settings are loaded"),
    }
}

/// Runs a parsed command line and turns the outcome into an exit code; errors go to stderr with
/// their cause chain.
pub fn run(cli: Cli) -> ExitCode {
    if let Command::Healthcheck { url } = &cli.command {
        return healthcheck::run(url);
    }
    if let Command::Keys { command: KeysCommand::Generate } = &cli.command {
        admin::generate_keys();
        return ExitCode::SUCCESS;
    }
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("recete: {error}");
            return ExitCode::from(2);
        }
    };
    recete_platform::telemetry::init_tracing(&settings.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("recete: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("recete: {error:#}");
            ExitCode::FAILURE
        }
    }
}
