//! Reads the command line and runs the subcommand; the server itself is
//! built by `app::Application`, the same builder the tests use.

use std::process::ExitCode;

use clap::Parser;

use guestpass::admin::{self, AdminError};
use guestpass::app::Application;
use guestpass::cli::{AdminCommand, Cli, Command, PrincipalTarget, ServeArgs};
use guestpass::domain::PrincipalKind;
use guestpass::store::{migrate, Store};

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level = if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    guestpass::logging::init(default_level);
    let command = match cli.command {
        // The kit's own exit status: 0 passed, 1 a check failed, 2 usage or connection.
        Command::Conformance(args) => {
            return guestpass_conformance::run_cli(args, "guestpass conformance").await
        }
        command => command,
    };
    let result = run(command).await;
    guestpass::logging::flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("guestpass: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Serve(args) => serve(args).await,
        Command::Migrate(db) => migrate(&db.database_url).map_err(|e| e.to_string()),
        Command::Admin(args) => {
            let store = open_store(&args.database.database_url)?;
            let secret = admin_command(&store, args.command)
                .await
                .map_err(|e| e.to_string())?;
            println!("{secret}");
            Ok(())
        }
        Command::Conformance(_) => Err("the conformance kit runs from main".into()),
        Command::Prune(args) => {
            let store = open_store(&args.database.database_url)?;
            let n = admin::prune(&store, args.expired_before, args.dry_run, args.batch_size)
                .await
                .map_err(|e| e.to_string())?;
            let verb = if args.dry_run {
                "would delete"
            } else {
                "deleted"
            };
            println!(
                "{verb} {n} guest passes that ended more than {} days ago",
                args.expired_before
            );
            if !args.dry_run {
                let keys = admin::prune_keys(&store, args.idempotency_ttl_hours, args.batch_size)
                    .await
                    .map_err(|e| e.to_string())?;
                println!(
                    "deleted {keys} idempotency keys older than {} hours",
                    args.idempotency_ttl_hours
                );
            }
            Ok(())
        }
    }
}

/// How long an `admin` or `prune` operation may take.
const ONE_SHOT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

fn open_store(database_url: &str) -> Result<Store, String> {
    let mut config = guestpass::config::Config::new(database_url);
    config.store.min_idle = 0;
    // No client waits on a one-shot command, and a large prune batch or a
    // chain removed with all its passes is one long transaction: the
    // server's few seconds (a PostgreSQL statement timeout and a deadline)
    // would cut it off.
    config.store.pool_timeout = ONE_SHOT_TIMEOUT;
    Store::open(&config.store).map_err(|e| e.to_string())
}

async fn admin_command(store: &Store, command: AdminCommand) -> Result<String, AdminError> {
    match command {
        AdminCommand::AddChain { id, name, secret } => {
            admin::add_principal(store, PrincipalKind::Chain, &id, name, None, secret).await
        }
        AdminCommand::AddLocation {
            chain,
            id,
            name,
            secret,
        } => {
            admin::add_principal(
                store,
                PrincipalKind::Location,
                &id,
                name,
                Some(chain),
                secret,
            )
            .await
        }
        AdminCommand::AddClient { id, secret } => {
            admin::add_principal(store, PrincipalKind::Client, &id, None, None, secret).await
        }
        AdminCommand::Seed { location, count } => admin::seed(store, &location, count)
            .await
            .map(|n| format!("seeded {n} guest passes at {location}")),
        AdminCommand::RotateSecret {
            chain,
            location,
            client,
            secret,
        } => {
            let (kind, id) = match (chain, location, client) {
                (Some(id), _, _) => (PrincipalKind::Chain, id),
                (_, Some(id), _) => (PrincipalKind::Location, id),
                (_, _, Some(id)) => (PrincipalKind::Client, id),
                // clap's required group guarantees one of the three.
                _ => {
                    return Err(AdminError::Invalid(
                        "name --chain, --location or --client".into(),
                    ))
                }
            };
            admin::rotate_secret(store, kind, &id, secret).await
        }
        AdminCommand::List { format } => admin::list(store, format).await,
        AdminCommand::Disable(target) => {
            let (kind, id) = target_of(target)?;
            admin::set_disabled(store, kind, &id, true).await
        }
        AdminCommand::Enable(target) => {
            let (kind, id) = target_of(target)?;
            admin::set_disabled(store, kind, &id, false).await
        }
        AdminCommand::Remove {
            target,
            with_passes,
        } => {
            let (kind, id) = target_of(target)?;
            admin::remove(store, kind, &id, with_passes).await
        }
    }
}

fn target_of(target: PrincipalTarget) -> Result<(PrincipalKind, String), AdminError> {
    // clap's required group guarantees one of the three.
    target
        .kind_and_id()
        .ok_or_else(|| AdminError::Invalid("name --chain, --location or --client".into()))
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let config = args.config();
    let application = Application::build(config.clone()).map_err(|e| e.to_string())?;
    let host = match config.bind.rsplit_once(':') {
        Some(("0.0.0.0" | "[::]", _)) | None => "127.0.0.1".to_owned(),
        Some((host, _)) => host.to_owned(),
    };
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let base_url = format!(
        "{scheme}://{host}:{}{}",
        application.port(),
        config.base_path
    );
    if args.demo {
        admin::ensure_demo(application.store())
            .await
            .map_err(|e| format!("cannot provision the demo: {e}"))?;
        println!(
            "guestpass demo: chain '{}', location '{}' (secrets in the README). Create a guest pass:\n\n{}\n",
            admin::DEMO_CHAIN_ID,
            admin::DEMO_LOCATION_ID,
            admin::demo_curl(&base_url, config.auth_levels)
        );
    }
    if config.desk {
        let desk = guestpass::desk::PATH;
        println!(
            "guestpass front desk: http://{host}:{}{desk}/",
            application.port()
        );
    }
    log::info!(
        "guestpass listening on {base_url} ({} store, access levels: {})",
        application.store().backend_name(),
        config.auth_levels
    );
    application
        .run_until_stopped()
        .await
        .map_err(|e| e.to_string())
}
