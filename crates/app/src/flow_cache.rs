//! Reads of flows, flow instances, webhook secrets and flow owners through the short-lived caches
//! of [`crate::flow_runtime::FlowRuntime`].

use crate::tenancy::Principal;
use crate::{App, AppError};
use ferry_model::execution::{Flow, FlowInstance};
use ferry_model::{FlowId, FlowInstanceId, OrganizationId};
use std::sync::Arc;

impl App {
    pub(crate) async fn cached_flow(
        &self,
        organization: OrganizationId,
        id: FlowId,
    ) -> Result<Option<Arc<Flow>>, AppError> {
        if let Some(flow) = self.inner.flows.flows.get(&id) {
            return Ok((flow.organization_id == organization).then_some(flow));
        }
        let Some(flow) = self.inner.store.get_flow(organization, id).await? else {
            return Ok(None);
        };
        let flow = Arc::new(flow);
        self.inner.flows.flows.insert(id, flow.clone());
        Ok(Some(flow))
    }

    pub(crate) async fn cached_flow_instance(
        &self,
        id: FlowInstanceId,
    ) -> Result<Option<Arc<FlowInstance>>, AppError> {
        if let Some(instance) = self.inner.flows.flow_instances.get(&id) {
            return Ok(Some(instance));
        }
        let Some(instance) = self.inner.store.get_flow_instance_by_id(id).await? else {
            return Ok(None);
        };
        let instance = Arc::new(instance);
        self.inner.flows.flow_instances.insert(id, instance.clone());
        Ok(Some(instance))
    }

    /// The SHA-256 of a flow instance's webhook secret, if it has one.
    pub(crate) async fn cached_webhook_secret_hash(
        &self,
        id: FlowInstanceId,
    ) -> Result<Option<Arc<str>>, AppError> {
        if let Some(hash) = self.inner.flows.webhook_secrets.get(&id) {
            return Ok(hash);
        }
        let hash: Option<Arc<str>> = self
            .inner
            .store
            .flow_instance_webhook_secret(id)
            .await?
            .map(|secret| Arc::from(crate::secret_hash(secret.expose())));
        self.inner.flows.webhook_secrets.insert(id, hash.clone());
        Ok(hash)
    }

    /// Flows run as their owner (for `request` steps).
    pub(crate) async fn flow_owner(&self, flow: &Flow) -> Result<Arc<Principal>, AppError> {
        if let Some(owner) = self.inner.flows.owners.get(&flow.user_id) {
            return Ok(owner);
        }
        let user = self
            .inner
            .store
            .get_user(flow.user_id)
            .await?
            .ok_or_else(|| AppError::Internal(format!("flow {} has no owner", flow.id)))?;
        let organization = self
            .inner
            .store
            .get_organization(flow.organization_id)
            .await?
            .ok_or_else(|| AppError::Internal(format!("flow {} has no organization", flow.id)))?;
        let owner = Arc::new(Principal { user, organization });
        self.inner.flows.owners.insert(flow.user_id, owner.clone());
        Ok(owner)
    }
}
