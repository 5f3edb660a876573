//! `ferry admin`: organizations, users and secrets, straight against the database.

use crate::error::CliError;
use crate::server::{build_app, print_secrets};
use crate::settings::StorageArgs;
use clap::Subcommand;
use ferry_connectors::EndpointRewrites;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create an organization with its first user; prints both secrets once.
    CreateOrganization {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "")]
        first_name: String,
        #[arg(long, default_value = "")]
        last_name: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Replace the User and Organization secrets of this user; the old ones stop working at once.
    RotateSecrets {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Set the web console password of this user, read from standard input (at least 12
    /// characters), so it stays out of shell history.
    SetPassword {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// List organizations and their users (never secrets).
    ListUsers {
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Print a new random master key (64 hex digits) for a key rotation.
    GenerateMasterKey,
    /// Seal every stored secret with the master key; values sealed with a key in
    /// --previous-master-keys are opened and sealed again. Safe while ferry runs; run it once
    /// every process has the new key, then drop the previous keys.
    ResealSecrets {
        #[command(flatten)]
        storage: StorageArgs,
    },
}

/// Admin commands run no flows; the server does.
fn admin_flows() -> ferry_app::FlowsConfig {
    ferry_app::FlowsConfig {
        run_workers: false,
        ..ferry_app::FlowsConfig::default()
    }
}

pub async fn run(command: AdminCommand) -> Result<(), CliError> {
    let public_url = "http://127.0.0.1";
    match command {
        AdminCommand::CreateOrganization {
            name,
            email,
            first_name,
            last_name,
            storage,
        } => {
            let app = build_app(
                &storage,
                public_url,
                &EndpointRewrites::new(),
                admin_flows(),
            )
            .await?;
            let secrets = app
                .create_organization_with_user(&name, &email, &first_name, &last_name)
                .await?;
            print_secrets(&secrets);
        }
        AdminCommand::RotateSecrets { email, storage } => {
            let app = build_app(
                &storage,
                public_url,
                &EndpointRewrites::new(),
                admin_flows(),
            )
            .await?;
            let secrets = app.rotate_secrets(&email).await?;
            println!(
                "New secrets for {} (organization {:?}):",
                secrets.user.email, secrets.organization.name
            );
            println!("  User secret:         {}", secrets.user_secret.expose());
            println!(
                "  Organization secret: {}",
                secrets.organization_secret.expose()
            );
        }
        AdminCommand::SetPassword { email, storage } => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .map_err(CliError::io("cannot read the password from standard input"))?;
            let app = build_app(
                &storage,
                public_url,
                &EndpointRewrites::new(),
                admin_flows(),
            )
            .await?;
            app.set_console_password(&email, password.trim_end_matches(['\r', '\n']))
                .await?;
            println!("The console password of {email} is set.");
        }
        AdminCommand::GenerateMasterKey => {
            let key = ferry_store::MasterKey::generate();
            println!("{}", hex::encode(key.as_bytes()));
            eprintln!("key id {}", key.id());
        }
        AdminCommand::ResealSecrets { storage } => {
            let app = build_app(
                &storage,
                public_url,
                &EndpointRewrites::new(),
                admin_flows(),
            )
            .await?;
            let report = app.store().reseal_secrets().await?;
            for column in &report.columns {
                println!(
                    "{}: {} sealed again, {} already current{}",
                    column.name,
                    column.resealed,
                    column.current,
                    if column.raced > 0 {
                        format!(", {} changed meanwhile by ferry itself", column.raced)
                    } else {
                        String::new()
                    }
                );
            }
            println!(
                "Every stored secret is sealed with master key {}; previous keys can go.",
                storage.master_key()?.id()
            );
        }
        AdminCommand::ListUsers { storage } => {
            let app = build_app(
                &storage,
                public_url,
                &EndpointRewrites::new(),
                admin_flows(),
            )
            .await?;
            for organization in app.store().list_organizations().await? {
                println!("organization {} {:?}", organization.id, organization.name);
                for user in app.store().list_users(organization.id).await? {
                    println!("  user {} {}", user.id, user.email);
                }
            }
        }
    }
    Ok(())
}
