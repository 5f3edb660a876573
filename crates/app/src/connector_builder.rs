//! The connector builder's use cases: connectors users add as definitions (`POST /elements`),
//! replace, delete, export and clone. Definitions are checked strictly before anything is stored;
//! stored ones are installation-wide and every process follows them (each change here swaps the
//! catalog at once; other processes notice within [`CATALOG_FOLLOW_INTERVAL`]). The operator's
//! connectors directory is followed on the same beat: a folder dropped in, changed or taken out
//! reaches the catalog without a restart. Bundled connectors stay as they are.

use crate::tenancy::Principal;
use crate::{App, AppError};
use ferry_connectors::{Catalog, Connector, ConnectorError, ConnectorOrigin};
use ferry_store::{ConnectorIdChoice, ConnectorUsage, NewConnectorDefinition};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How often a process looks for definitions other processes changed.
pub const CATALOG_FOLLOW_INTERVAL: Duration = Duration::from_secs(2);

/// Where errors about a definition sent through the API say it is.
const LOCATION: &str = "definition";

/// Numeric ids ferry gives user connectors that bring none start here (bundled ones stay below).
const FIRST_USER_ID: i64 = 100_000;

/// The operator's connectors directory and the catalog its folders are added to.
pub struct ConnectorsDirectory {
    path: PathBuf,
    /// The embedded connectors, without the directory's.
    embedded: Catalog,
    /// What the folders looked like when last read (or last found broken).
    seen: std::sync::Mutex<Vec<FileStamp>>,
}

/// A file of a connector folder: its path, length and time of change.
type FileStamp = (PathBuf, u64, Option<SystemTime>);

impl ConnectorsDirectory {
    /// `embedded` is the catalog without the directory; the directory as it is now is taken to
    /// be what the catalog ferry starts with already holds.
    pub fn new(path: PathBuf, embedded: Catalog) -> Self {
        let seen = std::sync::Mutex::new(directory_stamps(&path));
        ConnectorsDirectory {
            path,
            embedded,
            seen,
        }
    }

    /// The catalog with the directory as it is now, if it changed since last looked at. A
    /// folder that does not load leaves the catalog as it was; the error names file and field.
    fn changed_catalog(&self) -> Option<Result<Catalog, ConnectorError>> {
        let now = directory_stamps(&self.path);
        let mut seen = self.seen.lock().expect("directory stamps lock poisoned");
        if *seen == now {
            return None;
        }
        *seen = now;
        Some(self.embedded.clone().with_directory(&self.path))
    }
}

/// Every file in the directory's folders, sorted: any folder added, removed or edited changes it.
fn directory_stamps(dir: &Path) -> Vec<FileStamp> {
    let mut stamps = Vec::new();
    let Ok(folders) = std::fs::read_dir(dir) else {
        return stamps;
    };
    for folder in folders.filter_map(Result::ok).map(|entry| entry.path()) {
        let Ok(files) = std::fs::read_dir(&folder) else {
            continue;
        };
        stamps.push((folder.clone(), 0, None));
        for file in files.filter_map(Result::ok) {
            let metadata = file.metadata().ok();
            stamps.push((
                file.path(),
                metadata.as_ref().map_or(0, std::fs::Metadata::len),
                metadata.and_then(|m| m.modified().ok()),
            ));
        }
    }
    stamps.sort();
    stamps
}

/// What `POST /elements/{key}/clone` may change in the copy.
#[derive(Debug, Clone, Default)]
pub struct ConnectorCopy {
    pub key: Option<String>,
    pub name: Option<String>,
}

/// A definition problem as the caller's mistake, naming the field.
fn definition_error(error: ConnectorError) -> AppError {
    match error {
        ConnectorError::InvalidDefinition { location, message } => {
            let field = location
                .strip_prefix(LOCATION)
                .map(|rest| rest.trim_start_matches(": ").to_owned())
                .filter(|rest| !rest.is_empty());
            AppError::InvalidInput {
                message: format!("{location}: {message}"),
                field: field.or_else(|| Some(LOCATION.to_owned())),
            }
        }
        ConnectorError::Conflict(message) => AppError::Conflict(message),
        other => AppError::from(other),
    }
}

/// A definition added without an id is stored without one: the store chose it, and the row
/// holds it.
fn with_stored_id(mut definition: Value, id: i64) -> Value {
    if let Some(fields) = definition.as_object_mut() {
        fields.entry("id").or_insert(id.into());
    }
    definition
}

/// Why a connector with instances is not deleted, and what to do first.
fn in_use_message(key: &str, usage: ConnectorUsage) -> String {
    let total = usage.total();
    let (counted, them) = if total == 1 {
        ("1 instance".to_owned(), "it")
    } else {
        (format!("{total} instances"), "them")
    };
    let where_they_are = match usage.elsewhere {
        0 => String::new(),
        1 if total == 1 => ", in another organization".to_owned(),
        all if all == total => ", all in other organizations".to_owned(),
        1 => ", 1 of them in another organization".to_owned(),
        elsewhere => format!(", {elsewhere} of them in other organizations"),
    };
    format!(
        "the {key} connector still has {counted}{where_they_are}; delete {them} first (DELETE /instances/{{id}}), then the connector"
    )
}

impl App {
    fn swap_catalog(&self, catalog: Catalog) {
        *self.inner.catalog.write().expect("catalog lock poisoned") = Arc::new(catalog);
        self.forget_cached_instances();
    }

    /// Builds the catalog from the installed connectors and every stored user definition. A
    /// stored definition that no longer loads (a provider it names was removed) is left out and
    /// logged, not fatal.
    pub async fn load_user_connectors(&self) -> Result<(), AppError> {
        let mut fingerprint = self.inner.catalog_fingerprint.lock().await;
        let stored = self.inner.store.list_connector_definitions().await?;
        let mut catalog = self
            .inner
            .installed_catalog
            .read()
            .expect("installed catalog lock poisoned")
            .clone();
        for definition in &stored {
            let location = format!("stored connector {}", definition.key);
            let loaded = serde_json::from_str::<Value>(&definition.definition)
                .map_err(|e| ConnectorError::InvalidDefinition {
                    location: location.clone(),
                    message: format!("not JSON: {e}"),
                })
                .map(|value| with_stored_id(value, definition.id))
                .and_then(|value| catalog.load_definition(&location, value))
                .and_then(|connector| catalog.with_connector(connector));
            match loaded {
                Ok(next) => catalog = next,
                Err(error) => {
                    tracing::warn!(connector = %definition.key, error = %error, "a stored connector definition does not load; it is left out of the catalog");
                }
            }
        }
        *fingerprint = stored
            .iter()
            .map(|d| (d.key.clone(), d.updated_at_ms))
            .collect();
        self.swap_catalog(catalog);
        Ok(())
    }

    /// Reloads the catalog when another process changed the user connectors or the operator's
    /// directory changed.
    pub async fn follow_user_connectors(&self) -> Result<(), AppError> {
        let directory_changed = match &self.inner.connectors_directory {
            None => false,
            Some(directory) => {
                let path = directory.path.display().to_string();
                match directory.changed_catalog() {
                    None => false,
                    Some(Ok(installed)) => {
                        tracing::info!(directory = %path, "the connectors directory changed; reloading the catalog");
                        *self
                            .inner
                            .installed_catalog
                            .write()
                            .expect("installed catalog lock poisoned") = installed;
                        true
                    }
                    Some(Err(error)) => {
                        tracing::warn!(directory = %path, error = %error, "the connectors directory changed but does not load; the catalog stays as it was until it does");
                        false
                    }
                }
            }
        };
        let now = self.inner.store.connector_definitions_fingerprint().await?;
        if directory_changed || *self.inner.catalog_fingerprint.lock().await != now {
            tracing::info!("connector definitions changed; reloading the catalog");
            self.load_user_connectors().await?;
        }
        Ok(())
    }

    fn next_user_connector_id(&self) -> i64 {
        self.catalog()
            .connectors()
            .map(|c| c.def.id + 1)
            .chain([FIRST_USER_ID])
            .max()
            .unwrap_or(FIRST_USER_ID)
    }

    /// Checks a definition sent by a user, giving it the next id this process knows to be free
    /// when it has none (the store may give a higher one).
    fn checked_definition(&self, mut definition: Value) -> Result<Connector, AppError> {
        let Some(fields) = definition.as_object_mut() else {
            return Err(AppError::input(
                LOCATION,
                "the definition must be a JSON object (the connector definition format, docs/connectors.md)",
            ));
        };
        if !fields.contains_key("id") {
            fields.insert("id".into(), self.next_user_connector_id().into());
        }
        self.catalog()
            .load_definition(LOCATION, definition)
            .map_err(definition_error)
    }

    /// `POST /elements`: adds a connector. Without an `id` in the definition, the store gives
    /// the next free one, so processes adding connectors at the same moment never pick the same.
    pub async fn create_connector(
        &self,
        principal: &Principal,
        definition: Value,
    ) -> Result<Arc<Connector>, AppError> {
        let id_given = definition.get("id").is_some();
        let connector = self.checked_definition(definition)?;
        let key = connector.def.key.clone();
        if self.catalog().get(&key).is_some() {
            return Err(AppError::Conflict(format!(
                "a connector with key {key:?} exists; replace it with PUT /elements/{key}"
            )));
        }
        // Checks the id against the catalog before anything is stored.
        self.catalog()
            .admits(&connector)
            .map_err(definition_error)?;
        let mut written = connector.definition().clone();
        let id = if id_given {
            ConnectorIdChoice::Given(connector.def.id)
        } else {
            if let Some(fields) = written.as_object_mut() {
                fields.remove("id");
            }
            ConnectorIdChoice::Next {
                at_least: connector.def.id,
            }
        };
        self.inner
            .store
            .insert_connector_definition(NewConnectorDefinition {
                key: &key,
                id,
                definition: &written.to_string(),
                created_by: (principal.organization.id, principal.user.id),
                now_ms: self.now_ms(),
            })
            .await?;
        self.load_user_connectors().await?;
        tracing::info!(connector = %key, "connector added");
        self.connector(&key)
    }

    /// `PUT /elements/{key}`: replaces a connector this organization added.
    pub async fn replace_connector(
        &self,
        principal: &Principal,
        key: &str,
        mut definition: Value,
    ) -> Result<Arc<Connector>, AppError> {
        let existing = self.owned_user_connector(principal, key).await?;
        if let Some(fields) = definition.as_object_mut() {
            match fields.get("key").and_then(Value::as_str) {
                None => {
                    fields.insert("key".into(), existing.def.key.clone().into());
                }
                Some(given) if given != existing.def.key => {
                    return Err(AppError::input(
                        "key",
                        format!(
                            "the definition's key {given:?} differs from {:?}; clone the connector to change its key",
                            existing.def.key
                        ),
                    ));
                }
                Some(_) => {}
            }
            if !fields.contains_key("id") {
                fields.insert("id".into(), existing.def.id.into());
            }
        }
        let connector = self.checked_definition(definition)?;
        self.catalog()
            .admits(&connector)
            .map_err(definition_error)?;
        let updated = self
            .inner
            .store
            .update_connector_definition(
                &existing.def.key,
                connector.def.id,
                &connector.definition().to_string(),
                self.now_ms(),
            )
            .await?;
        if !updated {
            return Err(AppError::NotFound(format!("no connector {key:?}")));
        }
        self.load_user_connectors().await?;
        tracing::info!(connector = %existing.def.key, "connector replaced");
        self.connector(&existing.def.key)
    }

    /// `DELETE /elements/{key}`: removes a connector this organization added, once no instance
    /// uses it — in any organization, as connectors are installation-wide. An instance left
    /// without its connector could make no call, so the caller deletes the instances first.
    pub async fn delete_connector(&self, principal: &Principal, key: &str) -> Result<(), AppError> {
        let existing = self.owned_user_connector(principal, key).await?;
        let key = &existing.def.key;
        let usage = self
            .inner
            .store
            .connector_usage(key, principal.organization.id)
            .await?;
        if usage.total() > 0 {
            return Err(AppError::Conflict(in_use_message(key, usage)));
        }
        self.inner.store.delete_connector_definition(key).await?;
        self.load_user_connectors().await?;
        tracing::info!(connector = %key, "connector deleted");
        Ok(())
    }

    /// `GET /elements/{key}/export`: the definition as written.
    pub fn export_connector(&self, key: &str) -> Result<Value, AppError> {
        Ok(self.connector(key)?.definition().clone())
    }

    /// `POST /elements/{key}/clone`: a user connector copied from any connector, under a new key
    /// (`<key>-copy` unless given), name and id.
    pub async fn clone_connector(
        &self,
        principal: &Principal,
        key: &str,
        copy: ConnectorCopy,
    ) -> Result<Arc<Connector>, AppError> {
        let original = self.connector(key)?;
        let mut definition = original.definition().clone();
        let fields = definition
            .as_object_mut()
            .ok_or_else(|| AppError::Internal("a definition is not an object".into()))?;
        let new_key = copy
            .key
            .unwrap_or_else(|| format!("{}-copy", original.def.key));
        let name = copy
            .name
            .unwrap_or_else(|| format!("{} (copy)", original.def.name));
        fields.insert("key".into(), new_key.into());
        fields.insert("name".into(), name.into());
        fields.remove("id");
        self.create_connector(principal, definition).await
    }

    /// A user connector of the caller's organization, or why not.
    async fn owned_user_connector(
        &self,
        principal: &Principal,
        key: &str,
    ) -> Result<Arc<Connector>, AppError> {
        let existing = self.connector(key)?;
        if existing.origin != ConnectorOrigin::User {
            return Err(AppError::Conflict(format!(
                "the {} connector is part of this installation and cannot be changed through the API; clone it with POST /elements/{}/clone",
                existing.def.key, existing.def.key
            )));
        }
        let stored = self.inner.store.list_connector_definitions().await?;
        let owner = stored
            .iter()
            .find(|d| d.key == existing.def.key)
            .ok_or_else(|| AppError::NotFound(format!("no connector {key:?}")))?;
        if owner.organization_id != principal.organization.id {
            return Err(AppError::Forbidden(format!(
                "the {} connector belongs to another organization",
                existing.def.key
            )));
        }
        Ok(existing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connector_in_use_says_how_many_instances_use_it_and_where() {
        let usage = |in_organization, elsewhere| ConnectorUsage {
            in_organization,
            elsewhere,
        };
        assert_eq!(
            in_use_message("notes", usage(1, 0)),
            "the notes connector still has 1 instance; delete it first (DELETE /instances/{id}), then the connector"
        );
        assert_eq!(
            in_use_message("notes", usage(2, 1)),
            "the notes connector still has 3 instances, 1 of them in another organization; delete them first (DELETE /instances/{id}), then the connector"
        );
        assert_eq!(
            in_use_message("notes", usage(0, 2)),
            "the notes connector still has 2 instances, all in other organizations; delete them first (DELETE /instances/{id}), then the connector"
        );
    }
}
