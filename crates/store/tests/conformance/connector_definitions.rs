//! User connector definitions: added, replaced, removed, with a fingerprint that moves on every
//! change, and keys and ids that cannot be taken twice.

use crate::support::{backends, finish, tenant};
use ferry_store::StoreError;

#[tokio::test]
async fn definitions_are_added_replaced_and_removed_and_the_fingerprint_follows() {
    let backends = backends().await;
    for b in &backends {
        let store = &b.store;
        let t = tenant(store, "builder").await;
        let owner = (t.organization.id, t.user.id);
        assert!(store.list_connector_definitions().await.unwrap().is_empty());
        store
            .insert_connector_definition("notes", 100_000, r#"{"key":"notes"}"#, owner, 1_000)
            .await
            .unwrap();
        let twice = store
            .insert_connector_definition("notes", 100_001, "{}", owner, 1_000)
            .await;
        assert!(
            matches!(twice, Err(StoreError::Conflict(_))),
            "{}: {twice:?}",
            b.name
        );
        let same_id = store
            .insert_connector_definition("other", 100_000, "{}", owner, 1_000)
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
