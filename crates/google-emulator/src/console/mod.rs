//! The first half of the seed, as Google's developer console has it: a project, the Gmail API
//! enabled in it (or not: its tokens then get 403 `accessNotConfigured`), the OAuth consent screen
//! (product name, support email, authorized domains) and OAuth clients of type "Web application"
//! with their authorized redirect URIs. Served as pages (`pages`) and as JSON under
//! `/_emulator/projects` (`api`), for people and for scripts. Clients given in the emulator's
//! configuration belong to no project and may always call Gmail.

pub(crate) mod api;
pub(crate) mod pages;

use crate::config::OAuthClientSeed;
use crate::error::EmulatorError;
use crate::ids::random_token;
use crate::state::{Shared, read, write};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A project of the developer console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// The project id people choose (`my-ib-project`).
    pub project_id: String,
    /// The number Google assigns; client ids start with it.
    pub project_number: u64,
    pub name: String,
    pub gmail_api_enabled: bool,
    pub consent_screen: Option<ConsentScreen>,
    /// Client ids of the project's OAuth clients.
    pub clients: Vec<String>,
}

/// The OAuth consent screen of a project.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentScreen {
    /// The name users see on the consent pages and in the security alert.
    pub product_name: String,
    #[serde(default)]
    pub support_email: String,
    /// Domains (and their subdomains) that redirect URIs may use, besides loopback.
    #[serde(default)]
    pub authorized_domains: Vec<String>,
}

/// The console's state: projects by id, and which project each console-made client belongs to.
#[derive(Debug, Default)]
pub(crate) struct Console {
    pub projects: BTreeMap<String, Project>,
    pub client_projects: HashMap<String, String>,
}

impl Console {
    /// The project of a client whose Gmail API is disabled, if that is the case.
    pub(crate) fn gmail_disabled_for(&self, client_id: &str) -> Option<&Project> {
        let project = self.projects.get(self.client_projects.get(client_id)?)?;
        (!project.gmail_api_enabled).then_some(project)
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> EmulatorError {
    EmulatorError::InvalidField {
        field,
        message: message.into(),
    }
}

/// Google's rule for project ids: 6–30 lowercase letters, digits or hyphens, starting with a
/// letter, not ending with a hyphen.
fn check_project_id(id: &str) -> Result<(), EmulatorError> {
    let ok = (6..=30).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "project_id",
            format!(
                "{id:?}: use 6 to 30 lowercase letters, digits or hyphens, starting with a letter"
            ),
        ))
    }
}

fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "::1")
}

/// Checks redirect URIs the way the console does for a Web application client.
fn check_redirect_uris(
    uris: &[String],
    consent: Option<&ConsentScreen>,
) -> Result<(), EmulatorError> {
    if uris.is_empty() {
        return Err(invalid(
            "redirect_uris",
            "a Web application client needs at least one authorized redirect URI",
        ));
    }
    for uri in uris {
        let url = url::Url::parse(uri).map_err(|_| {
            invalid(
                "redirect_uris",
                format!("Invalid Redirect: {uri:?} is not a URI"),
            )
        })?;
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        if url.fragment().is_some() {
            return Err(invalid(
                "redirect_uris",
                format!("Invalid Redirect: {uri:?} cannot contain a fragment"),
            ));
        }
        if is_loopback(&host) {
            continue;
        }
        if url.scheme() != "https" {
            return Err(invalid(
                "redirect_uris",
                format!("Invalid Redirect: {uri:?} must use https:// as the scheme"),
            ));
        }
        let authorized = consent.is_some_and(|screen| {
            screen
                .authorized_domains
                .iter()
                .any(|d| host == *d || host.ends_with(&format!(".{d}")))
        });
        if !authorized {
            return Err(invalid(
                "redirect_uris",
                format!(
                    "Invalid Redirect: {host} must be added to the authorized domains list of the OAuth consent screen before submitting"
                ),
            ));
        }
    }
    Ok(())
}

impl Shared {
    pub(crate) fn create_project(
        &self,
        name: &str,
        project_id: Option<&str>,
    ) -> Result<Project, EmulatorError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(invalid("name", "a project needs a name"));
        }
        let project_id = match project_id {
            Some(id) => id.to_owned(),
            None => {
                let stem: String = name
                    .to_ascii_lowercase()
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .take(20)
                    .collect();
                let stem = stem.trim_matches('-');
                let stem = if stem.starts_with(|c: char| c.is_ascii_lowercase()) {
                    stem.to_owned()
                } else {
                    format!("project-{stem}")
                };
                format!("{stem}-{}", rand::rng().random_range(100_000..999_999))
            }
        };
        check_project_id(&project_id)?;
        let project = Project {
            project_number: rand::rng().random_range(100_000_000_000..999_999_999_999),
            project_id: project_id.clone(),
            name: name.to_owned(),
            gmail_api_enabled: false,
            consent_screen: None,
            clients: Vec::new(),
        };
        let mut console = write(&self.console);
        if console.projects.contains_key(&project_id) {
            return Err(EmulatorError::AlreadyExists {
                kind: "project",
                key: project_id,
            });
        }
        console.projects.insert(project_id, project.clone());
        Ok(project)
    }

    pub(crate) fn project(&self, project_id: &str) -> Result<Project, EmulatorError> {
        read(&self.console)
            .projects
            .get(project_id)
            .cloned()
            .ok_or_else(|| EmulatorError::UnknownProject(project_id.to_owned()))
    }

    pub(crate) fn set_gmail_api(
        &self,
        project_id: &str,
        enabled: bool,
    ) -> Result<Project, EmulatorError> {
        let mut console = write(&self.console);
        let project = console
            .projects
            .get_mut(project_id)
            .ok_or_else(|| EmulatorError::UnknownProject(project_id.to_owned()))?;
        project.gmail_api_enabled = enabled;
        Ok(project.clone())
    }

    pub(crate) fn set_consent_screen(
        &self,
        project_id: &str,
        mut screen: ConsentScreen,
    ) -> Result<Project, EmulatorError> {
        screen.product_name = screen.product_name.trim().to_owned();
        if screen.product_name.is_empty() {
            return Err(invalid(
                "product_name",
                "the consent screen needs a product name",
            ));
        }
        for domain in &mut screen.authorized_domains {
            *domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
            let plausible = domain.contains('.')
                && !domain.contains("://")
                && domain
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            if !plausible {
                return Err(invalid(
                    "authorized_domains",
                    format!(
                        "{domain:?} is not a domain (write example.com, without scheme or path)"
                    ),
                ));
            }
        }
        let mut console = write(&self.console);
        let project = console
            .projects
            .get_mut(project_id)
            .ok_or_else(|| EmulatorError::UnknownProject(project_id.to_owned()))?;
        project.consent_screen = Some(screen.clone());
        let project = project.clone();
        drop(console);
        // The consent pages and the security alert show the product name.
        let mut clients = write(&self.clients);
        for id in &project.clients {
            if let Some(client) = clients.get_mut(id) {
                let mut renamed = (**client).clone();
                renamed.app_name = screen.product_name.clone();
                *client = Arc::new(renamed);
            }
        }
        Ok(project)
    }

    /// Creates an OAuth client of type "Web application" in a project; answers it with its secret.
    pub(crate) fn create_web_client(
        &self,
        project_id: &str,
        redirect_uris: Vec<String>,
    ) -> Result<OAuthClientSeed, EmulatorError> {
        let project = self.project(project_id)?;
        let Some(screen) = &project.consent_screen else {
            return Err(invalid(
                "consent_screen",
                "configure the project's OAuth consent screen before creating an OAuth client",
            ));
        };
        check_redirect_uris(&redirect_uris, Some(screen))?;
        let client = OAuthClientSeed {
            client_id: format!(
                "{}-{}.apps.googleusercontent.com",
                project.project_number,
                random_token(24)
                    .to_ascii_lowercase()
                    .replace(['-', '_'], "0")
            ),
            client_secret: format!("GOCSPX-{}", random_token(21)),
            redirect_uris,
            app_name: screen.product_name.clone(),
            verified: false,
        };
        self.add_client(client.clone())?;
        let mut console = write(&self.console);
        console
            .client_projects
            .insert(client.client_id.clone(), project_id.to_owned());
        if let Some(project) = console.projects.get_mut(project_id) {
            project.clients.push(client.client_id.clone());
        }
        Ok(client)
    }

    pub(crate) fn projects(&self) -> Vec<Project> {
        read(&self.console).projects.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen(domains: &[&str]) -> ConsentScreen {
        ConsentScreen {
            product_name: "IB".into(),
            support_email: String::new(),
            authorized_domains: domains.iter().map(|d| d.to_string()).collect(),
        }
    }

    #[test]
    fn redirect_uris_follow_the_consoles_rules() {
        let ok = |uris: &[&str], domains: &[&str]| {
            check_redirect_uris(
                &uris.iter().map(|u| u.to_string()).collect::<Vec<_>>(),
                Some(&screen(domains)),
            )
        };
        assert!(
            ok(
                &["https://auth.cloudelements.io/oauth"],
                &["cloudelements.io"]
            )
            .is_ok()
        );
        assert!(
            ok(
                &[
                    "http://127.0.0.1:8080/oauth/callback",
                    "http://localhost/cb"
                ],
                &[]
            )
            .is_ok()
        );
        let message = |r: Result<(), EmulatorError>| r.unwrap_err().to_string();
        assert!(
            message(ok(&["https://evil.test/cb"], &["cloudelements.io"]))
                .contains("authorized domains")
        );
        assert!(
            message(ok(
                &["https://notcloudelements.io/cb"],
                &["cloudelements.io"]
            ))
            .contains("authorized domains")
        );
        assert!(
            message(ok(
                &["http://auth.cloudelements.io/cb"],
                &["cloudelements.io"]
            ))
            .contains("https://")
        );
        assert!(message(ok(&[], &[])).contains("at least one"));
        assert!(
            message(ok(
                &["https://a.cloudelements.io/x#y"],
                &["cloudelements.io"]
            ))
            .contains("fragment")
        );
    }

    #[test]
    fn project_ids_follow_googles_rules() {
        assert!(check_project_id("my-ib-project").is_ok());
        for bad in [
            "short",
            "1starts-with-digit",
            "Has-Capitals",
            "ends-with-",
            "way-too-long-for-a-google-project-id",
        ] {
            assert!(check_project_id(bad).is_err(), "{bad}");
        }
    }
}
