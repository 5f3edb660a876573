//! User connector definitions: added, replaced, removed, with a fingerprint that moves on every
//! change, and keys and ids that cannot be taken twice.

use crate::instances::instance;
use crate::support::{backends, finish, tenant};
use ferry_model::{OrganizationId, UserId};
use ferry_store::{ConnectorIdChoice, ConnectorUsage, NewConnectorDefinition, StoreError};
use std::collections::{BTreeMap, BTreeSet};

fn given<'a>(
    key: &'a str,
    id: i64,
    definition: &'a str,
    owner: (OrganizationId, UserId),
) -> NewConnectorDefinition<'a> {
    NewConnectorDefinition {
        key,
        id: ConnectorIdChoice::Given(id),
        definition,
        created_by: owner,
        now_ms: 1_000,
    }
}

#[tokio::test]
async fn definitions_are_added_replaced_and_removed_and_the_fingerprint_follows() {
    let backends = backends().await;
    for b in &backends {
        let store = &b.store;
        let t = tenant(store, "builder").await;
        let owner = (t.organization.id, t.user.id);
        assert!(store.list_connector_definitions().await.unwrap().is_empty());
        store
            .insert_connector_definition(given("notes", 100_000, r#"{"key":"notes"}"#, owner))
            .await
            .unwrap();
        let twice = store
            .insert_connector_definition(given("notes", 100_001, "{}", owner))
            .await;
        assert!(
            matches!(twice, Err(StoreError::Conflict(_))),
            "{}: {twice:?}",
            b.name
        );
        let same_id = store
            .insert_connector_definition(given("other", 100_000, "{}", owner))
            .await;
        assert!(
            matches!(same_id, Err(StoreError::Conflict(_))),
            "{}",
            b.name
        );
        let listed = store.list_connector_definitions().await.unwrap();
        assert_eq!(listed.len(), 1, "{}", b.name);
        assert_eq!(listed[0].organization_id, t.organization.id);
        assert_eq!(listed[0].definition, r#"{"key":"notes"}"#);
        let before = store.connector_definitions_fingerprint().await.unwrap();
        assert_eq!(before, vec![("notes".to_owned(), 1_000)]);

        // A replacement within the same millisecond still moves the fingerprint.
        assert!(
            store
                .update_connector_definition("notes", 100_000, r#"{"key":"notes","v":2}"#, 1_000)
                .await
                .unwrap()
        );
        let after = store.connector_definitions_fingerprint().await.unwrap();
        assert_ne!(before, after, "{}", b.name);
        assert!(
            !store
                .update_connector_definition("nope", 1, "{}", 2_000)
                .await
                .unwrap()
        );
        let other_store = b.second_process().await;
        assert_eq!(
            other_store.list_connector_definitions().await.unwrap()[0].definition,
            r#"{"key":"notes","v":2}"#
        );
        other_store.close().await;

        assert!(store.delete_connector_definition("notes").await.unwrap());
        assert!(!store.delete_connector_definition("notes").await.unwrap());
        assert!(
            store
                .connector_definitions_fingerprint()
                .await
                .unwrap()
                .is_empty()
        );
    }
    finish(backends).await;
}

// Two processes adding connectors without ids within the same couple of seconds each chose the
// next id from the catalog they had loaded, so both chose the same one and the second add was
// refused with a 409. The store now chooses an id left to it, and chooses again on a collision.
#[tokio::test]
async fn connectors_added_at_once_without_ids_by_two_processes_all_get_distinct_ids() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "racing").await;
        let owner = (t.organization.id, t.user.id);
        let other_process = b.second_process().await;
        let keys: Vec<String> = (0..12).map(|n| format!("racer-{n}")).collect();
        let mut adds = tokio::task::JoinSet::new();
        for (n, key) in keys.iter().enumerate() {
            let store = if n % 2 == 0 {
                b.store.clone()
            } else {
                other_process.clone()
            };
            let key = key.clone();
            adds.spawn(async move {
                let id = store
                    .insert_connector_definition(NewConnectorDefinition {
                        key: &key,
                        id: ConnectorIdChoice::Next { at_least: 100_000 },
                        definition: "{}",
                        created_by: owner,
                        now_ms: 1_000,
                    })
                    .await;
                (key, id)
            });
        }
        let mut added = BTreeMap::new();
        while let Some(joined) = adds.join_next().await {
            let (key, id) = joined.unwrap();
            added.insert(key, id.unwrap_or_else(|e| panic!("{}: {e}", b.name)));
        }
        let ids: Vec<i64> = keys.iter().map(|key| added[key]).collect();
        let distinct: BTreeSet<i64> = ids.iter().copied().collect();
        assert_eq!(distinct.len(), keys.len(), "{}: {ids:?}", b.name);
        assert!(ids.iter().all(|id| *id >= 100_000), "{}: {ids:?}", b.name);
        let stored = b.store.list_connector_definitions().await.unwrap();
        for (key, id) in keys.iter().zip(&ids) {
            let row = stored.iter().find(|d| &d.key == key).unwrap();
            assert_eq!(row.id, *id, "{}: the answered id is the stored one", b.name);
        }

        // The next id is above every stored one and never below the floor asked for …
        let next = b
            .store
            .insert_connector_definition(NewConnectorDefinition {
                key: "after-the-race",
                id: ConnectorIdChoice::Next { at_least: 500_000 },
                definition: "{}",
                created_by: owner,
                now_ms: 1_000,
            })
            .await
            .unwrap();
        assert_eq!(next, 500_000, "{}", b.name);
        // … and a key that exists is still a conflict, not a retry.
        let same_key = other_process
            .insert_connector_definition(NewConnectorDefinition {
                key: "racer-0",
                id: ConnectorIdChoice::Next { at_least: 100_000 },
                definition: "{}",
                created_by: owner,
                now_ms: 1_000,
            })
            .await;
        assert!(
            matches!(same_key, Err(StoreError::Conflict(_))),
            "{}: {same_key:?}",
            b.name
        );
        other_process.close().await;
    }
    finish(backends).await;
}

#[tokio::test]
async fn a_connectors_instances_are_counted_in_the_organization_and_outside_it() {
    let backends = backends().await;
    for b in &backends {
        let mine = tenant(&b.store, "usage-mine").await;
        let theirs = tenant(&b.store, "usage-theirs").await;
        let none = b
            .store
            .connector_usage("gmail", mine.organization.id)
            .await
            .unwrap();
        assert_eq!(none, ConnectorUsage::default(), "{}", b.name);
        instance(&b.store, &mine, "first", &[]).await;
        instance(&b.store, &mine, "second", &[]).await;
        instance(&b.store, &theirs, "third", &[]).await;
        let usage = b
            .store
            .connector_usage("gmail", mine.organization.id)
            .await
            .unwrap();
        assert_eq!(
            usage,
            ConnectorUsage {
                in_organization: 2,
                elsewhere: 1
            },
            "{}",
            b.name
        );
        assert_eq!(usage.total(), 3);
        let other_connector = b
            .store
            .connector_usage("github", mine.organization.id)
            .await
            .unwrap();
        assert_eq!(other_connector.total(), 0, "{}", b.name);
    }
    finish(backends).await;
}
