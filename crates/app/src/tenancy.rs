//! Who is calling: the Cloud Elements `Authorization` header (`User …, Organization …, Element …`,
//! parts in any order), checked against hashed secrets; bootstrap and rotation of secrets.

use crate::secrets::{generate_secret, hashes_equal, secret_hash};
use crate::{App, AppError};
use ferry_model::Secret;
use ferry_model::instance::Instance;
use ferry_model::tenancy::{Organization, User};
use ferry_store::NewUser;
use std::sync::Arc;

/// The parts of an `Authorization` header.
#[derive(Debug, Default, Clone)]
pub struct AuthorizationParts {
    pub user: Option<Secret>,
    pub organization: Option<Secret>,
    pub element: Option<Secret>,
}

const MISSING: &str = "authentication required: send Authorization: User <user secret>, Organization <organization secret>";

impl AuthorizationParts {
    /// Parses `User a, Organization b, Element c` (any order, any case of the names).
    pub fn parse(header: &str) -> Result<Self, AppError> {
        let mut parts = AuthorizationParts::default();
        for piece in header.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = piece
                .split_once(char::is_whitespace)
                .map(|(n, v)| (n, v.trim()))
                .ok_or_else(|| {
                    AppError::Unauthenticated(format!(
                        "the Authorization header part {:?} has no value; expected User <secret>, Organization <secret>[, Element <token>]",
                        piece.split_whitespace().next().unwrap_or_default()
                    ))
                })?;
            let slot = match name.to_ascii_lowercase().as_str() {
                "user" => &mut parts.user,
                "organization" => &mut parts.organization,
                "element" => &mut parts.element,
                _ => {
                    return Err(AppError::Unauthenticated(format!(
                        "the Authorization header has an unknown part {name:?}; expected User, Organization and Element"
                    )));
                }
            };
            if slot.is_some() {
                return Err(AppError::Unauthenticated(format!(
                    "the Authorization header gives {name} twice"
                )));
            }
            *slot = Some(Secret::new(value));
        }
        Ok(parts)
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub organization: Organization,
}

/// Secrets shown once, when they are created.
#[derive(Debug, Clone)]
pub struct BootstrapSecrets {
    pub organization: Organization,
    pub user: User,
    pub user_secret: Secret,
    pub organization_secret: Secret,
}

fn refused() -> AppError {
    AppError::Unauthenticated("the User or Organization secret is not valid".into())
}

impl App {
    /// A platform call: User and Organization secrets are both required.
    pub async fn authenticate(
        &self,
        parts: &AuthorizationParts,
    ) -> Result<Arc<Principal>, AppError> {
        let (Some(user), Some(organization)) = (&parts.user, &parts.organization) else {
            return Err(AppError::Unauthenticated(MISSING.into()));
        };
        self.check_secrets(user, Some(organization)).await
    }

    /// A hub call: the User secret and the Element token are required; an Organization secret, if
    /// given, must match. The instance must belong to the caller's organization.
    pub async fn authenticate_hub(
        &self,
        parts: &AuthorizationParts,
    ) -> Result<(Arc<Principal>, Arc<Instance>), AppError> {
        let (Some(user), Some(element)) = (&parts.user, &parts.element) else {
            return Err(AppError::Unauthenticated(
                "authentication required: send Authorization: User <user secret>, Organization <organization secret>, Element <instance token>".into(),
            ));
        };
        let principal = self
            .check_secrets(user, parts.organization.as_ref())
            .await?;
        let token_hash = secret_hash(element.expose());
        let instance = match self.inner.cache.instance(&token_hash) {
            Some(instance) => Some(instance),
            None => {
                let found = self
                    .inner
                    .store
                    .find_instance_by_token_hash(&token_hash)
                    .await?
                    .map(Arc::new);
                if let Some(instance) = &found {
                    self.inner
                        .cache
                        .remember_instance(token_hash, instance.clone());
                }
                found
            }
        };
        let instance = instance
            .filter(|instance| instance.organization_id == principal.organization.id)
            .ok_or_else(|| {
                AppError::Unauthenticated(
                    "the Element token does not belong to an instance of this organization".into(),
                )
            })?;
        Ok((principal, instance))
    }

    async fn check_secrets(
        &self,
        user: &Secret,
        organization: Option<&Secret>,
    ) -> Result<Arc<Principal>, AppError> {
        let user_hash = secret_hash(user.expose());
        let organization_hash = organization.map(|o| secret_hash(o.expose()));
        let cache_key = format!(
            "{user_hash}:{}",
            organization_hash.as_deref().unwrap_or_default()
        );
        if let Some(principal) = self.inner.cache.principal(&cache_key) {
            return Ok(principal);
        }
        let found = self
            .inner
            .store
            .find_user_by_secret_hash(&user_hash)
            .await?
            .ok_or_else(refused)?;
        if let Some(organization_hash) = &organization_hash
            && !hashes_equal(organization_hash, &found.organization_secret_hash)
        {
            return Err(refused());
        }
        let principal = Arc::new(Principal {
            user: found.user,
            organization: found.organization,
        });
        self.inner
            .cache
            .remember_principal(cache_key, principal.clone());
        Ok(principal)
    }

    /// Creates the first organization and user if there is none; `None` when users exist already.
    pub async fn bootstrap(
        &self,
        organization_name: &str,
        email: &str,
    ) -> Result<Option<BootstrapSecrets>, AppError> {
        if self.inner.store.count_users().await? > 0 {
            return Ok(None);
        }
        self.create_organization_with_user(organization_name, email, "Ferry", "Admin")
            .await
            .map(Some)
    }

    pub async fn create_organization_with_user(
        &self,
        organization_name: &str,
        email: &str,
        first_name: &str,
        last_name: &str,
    ) -> Result<BootstrapSecrets, AppError> {
        if !email.contains('@') {
            return Err(AppError::input(
                "email",
                format!("{email:?} is not an email address"),
            ));
        }
        let organization_secret = generate_secret();
        let user_secret = generate_secret();
        let now = self.now_ms();
        let organization = self
            .inner
            .store
            .create_organization(
                organization_name,
                &secret_hash(organization_secret.expose()),
                now,
            )
            .await?;
        let user = self
            .inner
            .store
            .create_user(NewUser {
                organization_id: organization.id,
                email,
                first_name,
                last_name,
                secret_hash: &secret_hash(user_secret.expose()),
                now_ms: now,
            })
            .await?;
        Ok(BootstrapSecrets {
            organization,
            user,
            user_secret,
            organization_secret,
        })
    }

    /// Issues new User and Organization secrets for the user with this email (and its
    /// organization); the old ones stop working at once.
    /// The users of the caller's organization.
    pub async fn organization_users(
        &self,
        principal: &Principal,
    ) -> Result<Vec<ferry_model::tenancy::User>, AppError> {
        Ok(self
            .inner
            .store
            .list_users(principal.organization.id)
            .await?)
    }

    pub async fn rotate_secrets(&self, email: &str) -> Result<BootstrapSecrets, AppError> {
        let store = &self.inner.store;
        let user = store
            .find_user_by_email(email)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no user with email {email:?}")))?;
        let organization = store
            .get_organization(user.organization_id)
            .await?
            .ok_or_else(|| AppError::Internal(format!("user {} has no organization", user.id)))?;
        let user_secret = generate_secret();
        let organization_secret = generate_secret();
        store
            .set_user_secret_hash(user.id, &secret_hash(user_secret.expose()))
            .await?;
        store
            .set_organization_secret_hash(
                organization.id,
                &secret_hash(organization_secret.expose()),
            )
            .await?;
        self.inner.cache.forget_principals();
        Ok(BootstrapSecrets {
            organization,
            user,
            user_secret,
            organization_secret,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_parts_come_in_any_order() {
        let parts = AuthorizationParts::parse("Organization o1, Element e1, User u1").unwrap();
        assert_eq!(parts.user.unwrap().expose(), "u1");
        assert_eq!(parts.organization.unwrap().expose(), "o1");
        assert_eq!(parts.element.unwrap().expose(), "e1");
        let two = AuthorizationParts::parse("user u, element e").unwrap();
        assert!(two.organization.is_none());
    }

    #[test]
    fn malformed_headers_are_refused_with_a_reason() {
        assert!(
            AuthorizationParts::parse("Bearer x")
                .unwrap_err()
                .to_string()
                .contains("unknown part")
        );
        assert!(
            AuthorizationParts::parse("User")
                .unwrap_err()
                .to_string()
                .contains("no value")
        );
        assert!(
            AuthorizationParts::parse("User a, User b")
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
    }
}
