//! Console passwords and sessions.

use crate::support::{backends, finish, tenant};
use ferry_model::UserId;

#[tokio::test]
async fn a_session_lives_until_it_expires_or_is_deleted() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "console").await;
        assert_eq!(
            b.store
                .user_password_hash("console@example.com")
                .await
                .unwrap(),
            Some((t.user.id, None))
        );
        assert!(
            b.store
                .set_user_password_hash(t.user.id, "$argon2id$x")
                .await
                .unwrap()
        );
        assert!(
            !b.store
                .set_user_password_hash(UserId(987_654), "x")
                .await
                .unwrap()
        );
        assert_eq!(
            b.store
                .user_password_hash("console@example.com")
                .await
                .unwrap(),
            Some((t.user.id, Some("$argon2id$x".to_owned())))
        );
        assert_eq!(
            b.store
                .user_password_hash("nobody@example.com")
                .await
                .unwrap(),
            None
        );

        b.store
            .create_console_session("hash-1", t.user.id, "csrf-1", 1_000, 5_000)
            .await
            .unwrap();
        let found = b
            .store
            .find_console_session("hash-1", 4_999)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (found.user_id, found.csrf_token.as_str()),
            (t.user.id, "csrf-1"),
            "{}",
            b.name
        );
        assert!(
            b.store
                .find_console_session("hash-1", 5_000)
                .await
                .unwrap()
                .is_none()
        );
        // A new sign-in sweeps the expired ones.
        b.store
            .create_console_session("hash-2", t.user.id, "csrf-2", 6_000, 9_000)
            .await
            .unwrap();
        assert!(
            b.store
                .find_console_session("hash-1", 0)
                .await
                .unwrap()
                .is_none()
        );
        // A notice is shown once, and sealed at rest.
        assert!(
            b.store
                .take_console_notice("hash-2")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            b.store
                .set_console_notice("hash-2", &ferry_model::Secret::new("fpk_shown_once"))
                .await
                .unwrap()
        );
        let taken = b
            .store
            .take_console_notice("hash-2")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(taken.expose(), "fpk_shown_once", "{}", b.name);
        assert!(
            b.store
                .take_console_notice("hash-2")
                .await
                .unwrap()
                .is_none()
        );
        b.store.delete_console_session("hash-2").await.unwrap();
        assert!(
            b.store
                .find_console_session("hash-2", 6_001)
                .await
                .unwrap()
                .is_none()
        );
    }
    finish(backends).await;
}
