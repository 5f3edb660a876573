//! Tenancy, instances, grants, leases and OAuth authorizations.

use crate::support::{Tenant, backends, finish, tenant};
use ferry_model::instance::{AuthorizationState, OAuthGrant};
use ferry_model::{InstanceId, Secret};
use ferry_store::{
    GrantUpdate, InstanceFilter, InstanceUpdate, MasterKey, NewInstance, NewOAuthAuthorization,
    NewUser, Store, StoreError, StoreOptions,
};
use std::collections::BTreeMap;

fn grant(access: &str, refresh: Option<&str>) -> OAuthGrant {
    OAuthGrant {
        access_token: Secret::new(access),
        refresh_token: refresh.map(Secret::new),
        access_expires_at_ms: Some(5_000),
        refresh_due_at_ms: Some(4_000),
        scope: Some("https://mail.google.com/".into()),
    }
}

pub(crate) async fn instance(
    store: &Store,
    tenant: &Tenant,
    name: &str,
    tags: &[&str],
) -> ferry_model::instance::Instance {
    let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
    let mut configuration = BTreeMap::new();
    configuration.insert("oauth.api.key".to_string(), "client-id".to_string());
    let mut secrets = BTreeMap::new();
    secrets.insert(
        "oauth.api.secret".to_string(),
        Secret::new("client-secret-value"),
    );
    let token = Secret::new(format!("instance-token-{name}"));
    store
        .insert_instance(NewInstance {
            organization_id: tenant.organization.id,
            user_id: tenant.user.id,
            connector_key: "gmail",
            name,
            tags: &tags,
            configuration: &configuration,
            secret_configuration: &secrets,
            token: &token,
            token_hash: &format!("token-hash-{name}"),
            grant: Some(&grant("ya29.access-one", Some("1//refresh-one"))),
            state: AuthorizationState::Active,
            external_authentication: "none",
            now_ms: 10,
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn users_are_found_by_secret_hash_with_their_organization() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "a").await;
        let found = b
            .store
            .find_user_by_secret_hash("user-hash-a")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.user, t.user, "{}", b.name);
        assert_eq!(found.organization.id, t.organization.id);
        assert_eq!(found.organization_secret_hash, "org-hash-a");
        assert!(
            b.store
                .find_user_by_secret_hash("nope")
                .await
                .unwrap()
                .is_none()
        );

        assert!(
            b.store
                .set_user_secret_hash(t.user.id, "rotated")
                .await
                .unwrap()
        );
        assert!(
            b.store
                .find_user_by_secret_hash("user-hash-a")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            b.store
                .find_user_by_secret_hash("rotated")
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(b.store.count_users().await.unwrap(), 1);
    }
    finish(backends).await;
}

#[tokio::test]
async fn duplicate_user_email_is_a_conflict() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "dup").await;
        let again = b
            .store
            .create_user(NewUser {
                organization_id: t.organization.id,
                email: "dup@example.com",
                first_name: "B",
                last_name: "C",
                secret_hash: "other",
                now_ms: 2,
            })
            .await;
        assert!(
            matches!(again, Err(StoreError::Conflict(_))),
            "{}: {again:?}",
            b.name
        );
    }
    finish(backends).await;
}

#[tokio::test]
async fn instances_round_trip_with_secrets_and_stay_inside_their_organization() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "x").await;
        let other = tenant(&b.store, "y").await;
        let created = instance(&b.store, &t, "work mail", &["prod", "mail"]).await;
        assert_eq!(created.name, "work mail");
        assert_eq!(created.token.expose(), "instance-token-work mail");
        assert_eq!(
            created.secret_configuration["oauth.api.secret"].expose(),
            "client-secret-value"
        );
        let grant = created.grant.clone().unwrap();
        assert_eq!(grant.access_token.expose(), "ya29.access-one");
        assert_eq!(grant.refresh_token.unwrap().expose(), "1//refresh-one");
        assert_eq!(created.state, AuthorizationState::Active);
        assert_eq!(created.account, None);
        b.store
            .set_instance_account(created.id, "ada@example.com")
            .await
            .unwrap();
        let reread = b
            .store
            .get_instance_by_id(created.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(reread.account.as_deref(), Some("ada@example.com"));

        let by_token = b
            .store
            .find_instance_by_token_hash("token-hash-work mail")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_token.id, created.id);
        assert!(
            b.store
                .get_instance(other.organization.id, created.id)
                .await
                .unwrap()
                .is_none(),
            "{}",
            b.name
        );
        assert!(
            b.store
                .get_instance(t.organization.id, created.id)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            !b.store
                .delete_instance(other.organization.id, created.id)
                .await
                .unwrap()
        );
    }
    finish(backends).await;
}

#[tokio::test]
async fn instances_are_listed_by_tags_and_search_text() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "l").await;
        instance(&b.store, &t, "Work Gmail", &["prod"]).await;
        instance(&b.store, &t, "Home", &["prod", "home"]).await;
        instance(&b.store, &t, "Test", &[]).await;
        let names = |list: Vec<ferry_model::instance::Instance>| -> Vec<String> {
            list.into_iter().map(|i| i.name).collect()
        };
        let all = b
            .store
            .list_instances(t.organization.id, &InstanceFilter::default())
            .await
            .unwrap();
        assert_eq!(names(all), ["Work Gmail", "Home", "Test"]);
        let prod = InstanceFilter {
            tags: vec!["prod".into()],
            ..Default::default()
        };
        assert_eq!(
            names(
                b.store
                    .list_instances(t.organization.id, &prod)
                    .await
                    .unwrap()
            ),
            ["Work Gmail", "Home"]
        );
        let both = InstanceFilter {
            tags: vec!["prod".into(), "home".into()],
            ..Default::default()
        };
        assert_eq!(
            names(
                b.store
                    .list_instances(t.organization.id, &both)
                    .await
                    .unwrap()
            ),
            ["Home"]
        );
        let text = InstanceFilter {
            search_text: Some("gmail".into()),
            ..Default::default()
        };
        // Every instance is a gmail one, so the connector key matches all three.
        assert_eq!(
            b.store
                .list_instances(t.organization.id, &text)
                .await
                .unwrap()
                .len(),
            3
        );
        let text = InstanceFilter {
            search_text: Some("WORK".into()),
            ..Default::default()
        };
        assert_eq!(
            names(
                b.store
                    .list_instances(t.organization.id, &text)
                    .await
                    .unwrap()
            ),
            ["Work Gmail"]
        );
        let none = InstanceFilter {
            tags: vec!["nope".into()],
            ..Default::default()
        };
        assert!(
            b.store
                .list_instances(t.organization.id, &none)
                .await
                .unwrap()
                .is_empty()
        );
    }
    finish(backends).await;
}

#[tokio::test]
async fn partial_updates_change_only_what_is_given() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "u").await;
        let created = instance(&b.store, &t, "before", &["a"]).await;
        let update = InstanceUpdate {
            tags: Some(vec![]),
            ..Default::default()
        };
        let updated = b
            .store
            .update_instance(t.organization.id, created.id, &update, 20)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(updated.name, "before");
        assert!(updated.tags.is_empty());
        assert_eq!(updated.updated_at_ms, 20);
        let update = InstanceUpdate {
            name: Some("after".into()),
            ..Default::default()
        };
        let updated = b
            .store
            .update_instance(t.organization.id, created.id, &update, 21)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(updated.name, "after");
        assert_eq!(updated.secret_configuration, created.secret_configuration);
        assert!(
            b.store
                .update_instance(t.organization.id, InstanceId(999_999), &update, 22)
                .await
                .unwrap()
                .is_none()
        );

        assert!(
            b.store
                .set_instance_disabled(t.organization.id, created.id, true, 23)
                .await
                .unwrap()
        );
        assert!(
            b.store
                .get_instance(t.organization.id, created.id)
                .await
                .unwrap()
                .unwrap()
                .disabled
        );
        assert!(
            b.store
                .delete_instance(t.organization.id, created.id)
                .await
                .unwrap()
        );
        assert!(
            b.store
                .get_instance(t.organization.id, created.id)
                .await
                .unwrap()
                .is_none()
        );
    }
    finish(backends).await;
}

#[tokio::test]
async fn grants_change_by_compare_and_set() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "g").await;
        let created = instance(&b.store, &t, "g", &[]).await;
        assert_eq!(created.grant_version, 0);
        let second = grant("ya29.access-two", Some("1//refresh-one"));
        let applied = b
            .store
            .set_grant(
                created.id,
                GrantUpdate {
                    grant: &second,
                    expected_version: Some(0),
                    now_ms: 30,
                },
            )
            .await
            .unwrap();
        assert!(applied, "{}", b.name);
        let stale = b
            .store
            .set_grant(
                created.id,
                GrantUpdate {
                    grant: &second,
                    expected_version: Some(0),
                    now_ms: 31,
                },
            )
            .await
            .unwrap();
        assert!(!stale, "{}: a stale version must not overwrite", b.name);
        let now = b
            .store
            .get_instance_by_id(created.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(now.grant_version, 1);
        assert_eq!(now.grant.unwrap().access_token.expose(), "ya29.access-two");

        assert!(
            !b.store
                .mark_needs_reauthentication(created.id, "revoked", 0, 32)
                .await
                .unwrap()
        );
        assert!(
            b.store
                .mark_needs_reauthentication(
                    created.id,
                    "Token has been expired or revoked.",
                    1,
                    33
                )
                .await
                .unwrap()
        );
        let now = b
            .store
            .get_instance_by_id(created.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(now.state, AuthorizationState::NeedsReauthentication);
        assert_eq!(
            now.state_reason.as_deref(),
            Some("Token has been expired or revoked.")
        );

        let fresh = grant("ya29.access-three", Some("1//refresh-two"));
        assert!(
            b.store
                .set_grant(
                    created.id,
                    GrantUpdate {
                        grant: &fresh,
                        expected_version: None,
                        now_ms: 34
                    }
                )
                .await
                .unwrap()
        );
        let now = b
            .store
            .get_instance_by_id(created.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(now.state, AuthorizationState::Active);
        assert_eq!(now.state_reason, None);
    }
    finish(backends).await;
}

#[tokio::test]
async fn one_refresh_lease_holder_at_a_time() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "lease").await;
        let created = instance(&b.store, &t, "lease", &[]).await;
        assert!(
            b.store
                .try_acquire_refresh_lease(created.id, "p1", 100, 1_000)
                .await
                .unwrap()
        );
        assert!(
            !b.store
                .try_acquire_refresh_lease(created.id, "p2", 200, 1_000)
                .await
                .unwrap(),
            "{}",
            b.name
        );
        // An expired lease can be taken over: a refresher that died does not block others forever.
        assert!(
            b.store
                .try_acquire_refresh_lease(created.id, "p2", 1_200, 1_000)
                .await
                .unwrap()
        );
        b.store
            .release_refresh_lease(created.id, "p2")
            .await
            .unwrap();
        assert!(
            b.store
                .try_acquire_refresh_lease(created.id, "p3", 1_300, 1_000)
                .await
                .unwrap()
        );
    }
    finish(backends).await;
}

#[tokio::test]
async fn oauth_authorizations_are_consumed_once_and_expire() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "oa").await;
        let verifier = Secret::new("verifier-123");
        for (id, expires) in [("auth-1", 1_000), ("auth-2", 50)] {
            b.store
                .insert_oauth_authorization(NewOAuthAuthorization {
                    id,
                    organization_id: t.organization.id,
                    instance_id: None,
                    pkce_verifier: Some(&verifier),
                    redirect_uri: "http://127.0.0.1/oauth/callback",
                    now_ms: 10,
                    expires_at_ms: expires,
                })
                .await
                .unwrap();
        }
        let first = b
            .store
            .consume_oauth_authorization("auth-1", 100)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.pkce_verifier.unwrap().expose(), "verifier-123");
        assert!(
            b.store
                .consume_oauth_authorization("auth-1", 101)
                .await
                .unwrap()
                .is_none(),
            "{}: replay",
            b.name
        );
        assert!(
            b.store
                .consume_oauth_authorization("auth-2", 100)
                .await
                .unwrap()
                .is_none(),
            "{}: expired",
            b.name
        );
        assert!(
            b.store
                .consume_oauth_authorization("unknown", 100)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(b.store.purge_oauth_authorizations(100).await.unwrap(), 2);
    }
    finish(backends).await;
}

#[tokio::test]
async fn sqlite_file_holds_no_plaintext_secrets() {
    let key = MasterKey::generate();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ferry.db");
    let store = Store::connect(
        &format!("sqlite://{}", path.display()),
        &key,
        StoreOptions::default(),
    )
    .await
    .unwrap();
    let t = tenant(&store, "plain").await;
    instance(&store, &t, "plain", &[]).await;
    store.close().await;
    let mut bytes = std::fs::read(&path).unwrap();
    for extra in ["ferry.db-wal", "ferry.db-shm"] {
        if let Ok(more) = std::fs::read(dir.path().join(extra)) {
            bytes.extend(more);
        }
    }
    for secret in [
        "ya29.access-one",
        "1//refresh-one",
        "client-secret-value",
        "instance-token-plain",
    ] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} found in plaintext in the SQLite files"
        );
    }
    // Reopening with another key cannot read the sealed values.
    let other = Store::connect(
        &format!("sqlite://{}", path.display()),
        &MasterKey::generate(),
        StoreOptions::default(),
    )
    .await
    .unwrap();
    let err = other
        .find_instance_by_token_hash("token-hash-plain")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownKey(_)), "{err:?}");
}

#[tokio::test]
async fn a_new_master_key_reseals_every_secret_and_then_the_old_key_can_go() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "rot").await;
        instance(&b.store, &t, "rot", &[]).await;
        b.store
            .insert_oauth_authorization(NewOAuthAuthorization {
                id: "auth-rot",
                organization_id: t.organization.id,
                instance_id: None,
                pkce_verifier: Some(&Secret::new("verifier-rot")),
                redirect_uri: "http://127.0.0.1/oauth/callback",
                now_ms: 10,
                expires_at_ms: 1_000,
            })
            .await
            .unwrap();
        let new = MasterKey::generate();
        // Every process runs with the new key and the old one as previous: old values open.
        let rotating = b.reopen_with(&new, std::slice::from_ref(&b.key)).await;
        let before = rotating
            .find_instance_by_token_hash("token-hash-rot")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(before.token.expose(), "instance-token-rot", "{}", b.name);
        let report = rotating.reseal_secrets().await.unwrap();
        let resealed = |name: &str| {
            report
                .columns
                .iter()
                .find(|c| c.name == name)
                .unwrap_or_else(|| panic!("{name} is not in {report:?}"))
                .resealed
        };
        for column in [
            "instances.secret_configuration",
            "instances.token_sealed",
            "instances.access_token_sealed",
            "instances.refresh_token_sealed",
            "oauth_authorizations.pkce_verifier_sealed",
        ] {
            assert_eq!(resealed(column), 1, "{}: {column}", b.name);
        }
        let again = rotating.reseal_secrets().await.unwrap();
        assert_eq!(
            again.resealed(),
            0,
            "{}: a second run has nothing to do",
            b.name
        );
        rotating.close().await;

        // The old key is gone: everything still opens with the new one alone …
        let rotated = b.reopen_with(&new, &[]).await;
        let after = rotated
            .find_instance_by_token_hash("token-hash-rot")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(after.token.expose(), "instance-token-rot");
        assert_eq!(
            after.secret_configuration["oauth.api.secret"].expose(),
            "client-secret-value"
        );
        let grant = after.grant.unwrap();
        assert_eq!(grant.access_token.expose(), "ya29.access-one");
        assert_eq!(grant.refresh_token.unwrap().expose(), "1//refresh-one");
        let authorization = rotated
            .consume_oauth_authorization("auth-rot", 100)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            authorization.pkce_verifier.unwrap().expose(),
            "verifier-rot"
        );
        rotated.close().await;
        // … and a process still on the old key says which key it lacks.
        let stale = b.reopen_with(&b.key, &[]).await;
        match stale.find_instance_by_token_hash("token-hash-rot").await {
            Err(StoreError::UnknownKey(id)) => assert_eq!(id, new.id()),
            other => panic!("{}: expected UnknownKey, got {other:?}", b.name),
        }
        stale.close().await;
    }
    finish(backends).await;
}

#[tokio::test]
async fn migrations_are_idempotent_across_restarts() {
    let key = MasterKey::generate();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("ferry.db").display());
    let first = Store::connect(&url, &key, StoreOptions::default())
        .await
        .unwrap();
    tenant(&first, "m").await;
    first.close().await;
    let second = Store::connect(&url, &key, StoreOptions::default())
        .await
        .unwrap();
    assert_eq!(second.count_users().await.unwrap(), 1);
}
