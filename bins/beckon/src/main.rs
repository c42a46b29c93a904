//! `beckon`: parse the command line and configuration, then dispatch.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use beckon::cli::{ApiKeyAction, Cli, Command, PolicyAction, TenantAction, WebhookAction};
use beckon::config::Config;
use beckon::system::Sources;
use beckon::{admin, server, telemetry};
use beckon_authz_cedar::verify::Cvc5;
use clap::Parser;
use clap::error::ErrorKind;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // One line: clap's first line names the problem; usage is in --help.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("{first} (see beckon --help)");
            return ExitCode::from(2);
        }
    };
    let cfg =
        match Config::from_env().and_then(|c| telemetry::init(&c.log, c.log_format).map(|()| c)) {
            Ok(cfg) => cfg,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Policy {
        action: PolicyAction::Verify,
    } = command
    {
        return verify(&runtime, &cfg);
    }
    match runtime.block_on(run(command, &cfg)) {
        Ok(Some(out)) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => {
            // Multi-line only for the policy validator's messages.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `beckon policy verify`: a line per property on stderr, the JSON object on
/// stdout, and a failure exit when a property has a counterexample.
fn verify(runtime: &tokio::runtime::Runtime, cfg: &Config) -> ExitCode {
    let cvc5 = Cvc5::from_var(std::env::var_os("CVC5"));
    match runtime.block_on(admin::verify_policies(cfg, &cvc5)) {
        Ok(verified) => {
            for line in &verified.lines {
                eprintln!("{line}");
            }
            println!("{}", verified.json);
            if verified.proven {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, cfg: &Config) -> anyhow::Result<Option<serde_json::Value>> {
    // The one place the real clock and random source are chosen.
    let sources = &Sources::system();
    Ok(Some(match command {
        Command::Serve => {
            server::start(cfg, server::ServeOptions::default(), sources)
                .await?
                .wait()
                .await?;
            return Ok(None);
        }
        Command::Migrate => admin::migrate(cfg).await?,
        Command::Tenant {
            action: TenantAction::Create { name, locale },
        } => admin::create_tenant(cfg, &name, &locale, sources).await?,
        Command::ApiKey {
            action: ApiKeyAction::Create { tenant, role, name },
        } => admin::create_api_key(cfg, &tenant, &role, name.as_deref(), sources).await?,
        Command::ApiKey {
            action: ApiKeyAction::Revoke { id },
        } => admin::revoke_api_key(cfg, &id, sources).await?,
        Command::Webhook {
            action: WebhookAction::Set { tenant, url },
        } => admin::set_webhook(cfg, &tenant, &url, sources).await?,
        Command::Webhook {
            action: WebhookAction::Remove { tenant },
        } => admin::remove_webhook(cfg, &tenant, sources).await?,
        Command::Policy {
            action: PolicyAction::Check,
        } => admin::check_policies(cfg)?,
        Command::Policy {
            action: PolicyAction::Verify,
        } => {
            // Handled by `verify`, which prints more than one object.
            return Err(anyhow::anyhow!("policy verify is not run here"));
        }
    }))
}
