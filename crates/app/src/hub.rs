//! Calls to an instance's normalized API.

use crate::{App, AppError};
use ferry_connectors::{HubRequest, HubResponse, InstanceContext};
use ferry_model::instance::{AuthorizationState, Instance};

impl App {
    pub async fn hub_call(
        &self,
        instance: &Instance,
        request: &HubRequest,
    ) -> Result<HubResponse, AppError> {
        if instance.disabled {
            return Err(AppError::Forbidden(format!(
                "instance {} is disabled; enable it with PUT /instances/{}/enabled",
                instance.id, instance.id
            )));
        }
        match instance.state {
            AuthorizationState::Active => {}
            AuthorizationState::Pending => {
                return Err(AppError::Conflict(format!(
                    "instance {} is waiting for its owner to finish the provider's consent",
                    instance.id
                )));
            }
            AuthorizationState::NeedsReauthentication => {
                return Err(AppError::NeedsReauthentication {
                    message: format!(
                        "instance {} needs to be re-authenticated: the provider rejected its grant ({})",
                        instance.id,
                        instance.state_reason.as_deref().unwrap_or("revoked")
                    ),
                });
            }
        }
        let connector = self.instance_connector(instance)?;
        let credentials = self.credentials_for(instance);
        let context = InstanceContext {
            instance_id: Some(instance.id.0),
            account: instance.account.as_deref(),
            configuration: Some(&instance.configuration),
            secrets: Some(&instance.secret_configuration),
        };
        let response = self
            .inner
            .runtime
            .invoke(&connector, &context, &credentials, request)
            .await?;
        Ok(response)
    }
}
