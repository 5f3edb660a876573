//! What the vendor says about an instance's credentials, through the connector's `identity`
//! operation: which account they open and, for credentials a person typed (an API key, a Basic
//! user name and password), whether the vendor takes them at all. Typed credentials are asked
//! about before the instance is stored, so credentials the vendor refuses make no instance.

use crate::instances::SplitConfiguration;
use crate::{App, AppError};
use ferry_connectors::{Connector, ConnectorError, Credentials, CredentialsError, InstanceContext};
use ferry_model::Secret;
use ferry_model::instance::Instance;

/// API keys and Basic credentials travel in the configuration; there is no bearer token to send
/// or to refresh.
struct TypedCredentialsOnly;

impl Credentials for TypedCredentialsOnly {
    async fn access_token(&self) -> Result<Option<Secret>, CredentialsError> {
        Ok(None)
    }

    async fn refresh_after_rejection(&self, _: &Secret) -> Result<Secret, CredentialsError> {
        Err(CredentialsError::Unavailable(
            "typed credentials have no token to refresh".into(),
        ))
    }
}

/// "a", "a and b", "a, b and c".
pub(crate) fn joined(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [first @ .., last] => format!("{} and {last}", first.join(", ")),
    }
}

impl App {
    /// Asks the identity operation, before an API-key or Basic instance is stored, with the
    /// credentials it is being created with; answers the account they open when the vendor
    /// names it. A 401 or 403 refuses the creation, and so does a value the connector cannot
    /// use (a base URL variable with characters a host name cannot hold). Anything else — the
    /// vendor failing or out of reach — does not: the credentials may well be right, and the
    /// account stays unknown, as it did before this check existed.
    pub(crate) async fn check_typed_credentials(
        &self,
        connector: &Connector,
        configuration: &SplitConfiguration,
    ) -> Result<Option<String>, AppError> {
        let Some(identity) = &connector.def.identity else {
            return Ok(None);
        };
        // What a refusal is about: the fields the connector's auth reads (none without auth).
        let fields: Vec<String> = connector
            .def
            .auth
            .configuration_keys()
            .into_iter()
            .map(|(_, field)| field.to_owned())
            .collect();
        let context = InstanceContext {
            instance_id: None,
            account: None,
            configuration: Some(&configuration.plain),
            secrets: Some(&configuration.secret),
        };
        match self
            .ask_identity(connector, &context, &TypedCredentialsOnly)
            .await
        {
            Ok(account) => Ok(account),
            Err(ConnectorError::Provider {
                status: status @ (401 | 403),
                provider_message,
                ..
            }) if !fields.is_empty() => {
                let named: Vec<&str> = fields.iter().map(String::as_str).collect();
                Err(AppError::CredentialsRefused {
                    message: format!(
                        "the vendor refused the credentials in {}: {} answered {status} to {}, the call that names the account; check them and try again",
                        joined(&named),
                        connector.def.name,
                        identity.operation
                    ),
                    fields,
                    provider_message,
                })
            }
            Err(error @ ConnectorError::InvalidInput { .. }) => Err(error.into()),
            Err(error) => {
                tracing::warn!(connector = %connector.def.key, error = %error, "could not ask the vendor about new credentials; the instance is created with its account unknown");
                Ok(None)
            }
        }
    }

    /// Asks the connector's identity operation which account the instance's credentials open. A
    /// failure here does not undo the instance; it only leaves the account unknown.
    pub(crate) async fn learn_account(&self, instance: Instance) -> Instance {
        let Some(connector) = self.catalog().get(&instance.connector_key).cloned() else {
            return instance;
        };
        let credentials = self.credentials_for(&instance);
        let context = InstanceContext {
            instance_id: Some(instance.id.0),
            account: None,
            configuration: Some(&instance.configuration),
            secrets: Some(&instance.secret_configuration),
        };
        match self.ask_identity(&connector, &context, &credentials).await {
            Ok(Some(account)) => self.record_account(instance, account).await,
            Ok(None) => instance,
            Err(error) => {
                tracing::warn!(instance_id = %instance.id, error = %error, "could not learn the instance's account");
                instance
            }
        }
    }

    /// Records the account an instance's credentials open; a failure only leaves it unknown.
    pub(crate) async fn record_account(&self, instance: Instance, account: String) -> Instance {
        if let Err(error) = self
            .inner
            .store
            .set_instance_account(instance.id, &account)
            .await
        {
            tracing::warn!(instance_id = %instance.id, error = %error, "could not record the instance's account");
            return instance;
        }
        self.forget_cached_instances();
        Instance {
            account: Some(account),
            ..instance
        }
    }

    /// The account the identity operation's reply names; `None` for a connector without one, or a
    /// reply that does not name it.
    async fn ask_identity<C: Credentials>(
        &self,
        connector: &Connector,
        context: &InstanceContext<'_>,
        credentials: &C,
    ) -> Result<Option<String>, ConnectorError> {
        let Some(identity) = &connector.def.identity else {
            return Ok(None);
        };
        let reply = self
            .inner
            .runtime
            .invoke_operation(connector, context, credentials, &identity.operation)
            .await?;
        Ok(reply
            .json()
            .ok()
            .as_ref()
            .and_then(|body| body.pointer(&identity.account))
            .and_then(|account| account.as_str())
            .map(str::to_owned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_fields_are_named_as_a_person_would_list_them() {
        assert_eq!(joined(&["github.token"]), "github.token");
        assert_eq!(
            joined(&["jira.email", "jira.api.token"]),
            "jira.email and jira.api.token"
        );
        assert_eq!(joined(&["a", "b", "c"]), "a, b and c");
    }
}
