//! `ferry docs export`: the OpenAPI documents, written to files for client generators. It needs
//! no running ferry: the platform document comes from the router and the connectors' from the
//! definitions embedded in this binary.

use crate::error::CliError;
use ferry_connectors::{Catalog, EndpointRewrites};
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum DocsCommand {
    /// Write `platform.openapi.json` and `<connector>.openapi.json` for every connector.
    Export(ExportArgs),
}

#[derive(clap::Args)]
pub struct ExportArgs {
    /// The directory to write to (created when missing).
    #[arg(long, default_value = "openapi")]
    out: PathBuf,
    /// ferry's public URL, written as the documents' server (relative paths when absent).
    #[arg(long)]
    server: Option<String>,
}

pub fn run(command: DocsCommand) -> Result<(), CliError> {
    match command {
        DocsCommand::Export(args) => export(&args),
    }
}

fn export(args: &ExportArgs) -> Result<(), CliError> {
    std::fs::create_dir_all(&args.out).map_err(CliError::io(format!(
        "cannot create {}",
        args.out.display()
    )))?;
    let origin = args.server.as_deref().map(|s| s.trim_end_matches('/'));
    write(
        &args.out.join("platform.openapi.json"),
        &ferry_api::docs::platform_document(origin),
    )?;
    let catalog = Catalog::embedded(&EndpointRewrites::new())?;
    let hub_server = match origin {
        Some(origin) => format!("{origin}{}", ferry_api::docs::HUB_SERVER),
        None => ferry_api::docs::HUB_SERVER.to_owned(),
    };
    for connector in catalog.connectors() {
        let document = ferry_api::docs::connector_document_at(&connector.def, None, &hub_server);
        write(
            &args.out.join(format!("{}.openapi.json", connector.def.key)),
            &document,
        )?;
    }
    Ok(())
}

fn write(path: &Path, document: &serde_json::Value) -> Result<(), CliError> {
    let mut text = serde_json::to_string_pretty(document).expect("JSON values serialize");
    text.push('\n');
    std::fs::write(path, text).map_err(CliError::io(format!("cannot write {}", path.display())))?;
    println!("{}", path.display());
    Ok(())
}
