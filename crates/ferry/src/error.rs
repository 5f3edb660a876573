use thiserror::Error;

#[derive(Debug, Error)]
pub enum CliError {
    #[error("{0}")]
    Config(String),
    #[error("cannot open the database: {0}")]
    Store(#[from] ferry_store::StoreError),
    #[error("invalid connector definition: {0}")]
    Connectors(#[from] ferry_connectors::ConnectorError),
    #[error("{0}")]
    App(#[from] ferry_app::AppError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl CliError {
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
        let context = context.into();
        move |source| CliError::Io { context, source }
    }
}
