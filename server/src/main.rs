//! `hearth`: serve, migrate, and the admin commands.

use app::domain::names::Role;
use clap::Parser;
use hearth::config::{Cli, Command, InviteCommand, UserCommand};
use hearth::startup;

/// mimalloc hands large freed blocks (argon2 uses 19 MiB per hash) back to the system, where
/// glibc's allocator kept hundreds of megabytes after a burst of sign-ins.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    hearth::telemetry::init("info,sqlx=warn,tower_http=warn");
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(config) => startup::serve(&config).await,
        Command::Migrate(storage) => {
            startup::open_store(&storage).await?;
            println!("Database is up to date.");
            Ok(())
        }
        Command::Invite { command: InviteCommand::Create { uses, storage } } => {
            let state = admin_state(storage).await?;
            let code = app::domain::accounts::create_invite(&state, uses).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{code}");
            Ok(())
        }
        Command::User { command: UserCommand::SetRole { name, role, storage } } => {
            let role = Role::parse(&role).map_err(|e| anyhow::anyhow!("{e}"))?;
            let state = admin_state(storage).await?;
            let account =
                app::domain::accounts::set_role(&state, &name, role).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{} is now {}.", account.username, account.role.as_str());
            Ok(())
        }
    }
}

/// The state an admin command needs: the database, and nothing that listens or mails.
async fn admin_state(storage: hearth::config::StorageArgs) -> anyhow::Result<app::domain::AppState> {
    let store = startup::open_store(&storage).await?;
    let settings = app::domain::settings::Settings::new("http://localhost", b"admin-commands-sign-nothing".to_vec());
    let mailer = app::domain::mail::Mailer::outbox(storage.data_dir.join("outbox"));
    Ok(app::domain::AppState::new(store, settings, mailer, std::sync::Arc::new(app::domain::events::NoEvents)))
}
