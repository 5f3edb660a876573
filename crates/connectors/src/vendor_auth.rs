//! What a connector's auth adds to each vendor call from the instance's configuration: an API key
//! in a header or query parameter, or HTTP Basic. OAuth2 bearer tokens come from [`Credentials`]
//! instead, and a connector without auth adds nothing.
//!
//! [`Credentials`]: crate::Credentials

use crate::ConnectorError;
use crate::runtime::InstanceContext;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ferry_model::Secret;
use ferry_model::connector::{ApiKeyPlacement, AuthDef};

type Headers = Vec<(String, Secret)>;
type Query = Vec<(String, String)>;

fn value(instance: &InstanceContext<'_>, key: &str) -> Result<String, ConnectorError> {
    instance
        .secrets
        .and_then(|secrets| secrets.get(key).map(|s| s.expose().to_owned()))
        .or_else(|| instance.configuration.and_then(|plain| plain.get(key).cloned()))
        .filter(|value| !value.is_empty())
        .ok_or_else(|| {
            ConnectorError::input(
                key,
                format!("the instance has no value for configuration field {key}, which the connector's auth needs"),
            )
        })
}

/// Headers and query parameters to add to a vendor call.
pub(crate) fn material(
    auth: &AuthDef,
    instance: &InstanceContext<'_>,
) -> Result<(Headers, Query), ConnectorError> {
    match auth {
        AuthDef::ApiKey(def) => {
            let key = value(instance, &def.field)?;
            let sent = format!("{}{key}", def.prefix);
            Ok(match def.placement {
                ApiKeyPlacement::Header => (vec![(def.name.clone(), Secret::new(sent))], vec![]),
                ApiKeyPlacement::Query => (vec![], vec![(def.name.clone(), sent)]),
            })
        }
        AuthDef::Basic(def) => {
            let user = value(instance, &def.username_field)?;
            let password = value(instance, &def.password_field)?;
            let encoded = STANDARD.encode(format!("{user}:{password}"));
            Ok((
                vec![(
                    "Authorization".to_owned(),
                    Secret::new(format!("Basic {encoded}")),
                )],
                vec![],
            ))
        }
        AuthDef::Oauth2(_) | AuthDef::None(_) => Ok((vec![], vec![])),
    }
}
