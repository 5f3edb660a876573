//! API proxies: publishing, keys, the shared token bucket and daily quota, and call records.

use crate::instances::instance;
use crate::support::{backends, finish, tenant};
use ferry_model::ProxyKeyId;
use ferry_model::proxy::{KeyScopes, ProxyCall, RateLimit};
use ferry_store::{
    NewProxy, NewProxyKey, Store, StoreError, TokenOutcome, TokenRequest, UsageGroup, UsageQuery,
};

const LIMIT: RateLimit = RateLimit {
    requests: 5,
    seconds: 1,
};

async fn proxy_with_key(
    store: &Store,
    tag: &str,
    capacity: f64,
) -> (ferry_model::proxy::Proxy, ferry_model::proxy::ProxyKey) {
    let t = tenant(store, tag).await;
    let target = instance(store, &t, tag, &[]).await;
    let proxy = store
        .create_proxy(&NewProxy {
            organization_id: t.organization.id,
            instance_id: target.id,
            name: "Mail for the mobile app",
            base_path: &format!("mail-{tag}"),
            operations: Some(&["listMessages".to_owned()]),
            cors_origins: &["https://app.example".to_owned()],
            rate_limit: LIMIT,
            daily_quota: Some(1000),
            max_request_bytes: 1024,
            now_ms: 100,
        })
        .await
        .unwrap();
    let key = store
        .create_proxy_key(&NewProxyKey {
            proxy_id: proxy.id,
            name: "mobile",
            prefix: "fpk_abcd",
            key_hash: &format!("hash-{tag}"),
            scopes: &KeyScopes {
                methods: Some(vec!["GET".into()]),
                operations: None,
            },
            rate_limit: None,
            daily_quota: None,
            expires_at_ms: Some(10_000),
            initial_tokens: capacity,
            now_ms: 100,
        })
        .await
        .unwrap();
    (proxy, key)
}

fn request(now_ms: i64, capacity: f64, refill_per_ms: f64, quota: Option<u32>) -> TokenRequest {
    TokenRequest {
        now_ms,
        capacity,
        refill_per_ms,
        day: 1,
        daily_quota: quota,
    }
}

#[tokio::test]
async fn proxies_and_keys_are_kept_and_a_base_path_is_taken_once() {
    let backends = backends().await;
    for b in &backends {
        let (proxy, key) = proxy_with_key(&b.store, "a", 5.0).await;
        assert_eq!(proxy.operations, Some(vec!["listMessages".to_owned()]));
        assert_eq!(proxy.cors_origins, vec!["https://app.example".to_owned()]);
        assert!(proxy.published, "{}", b.name);
        assert_eq!(
            b.store.find_proxy_by_base_path("mail-a").await.unwrap(),
            Some(proxy.clone())
        );
        assert_eq!(key.scopes.methods, Some(vec!["GET".to_owned()]));
        assert_eq!(key.expires_at_ms, Some(10_000));

        let t = tenant(&b.store, "other").await;
        let other = instance(&b.store, &t, "other", &[]).await;
        let taken = b
            .store
            .create_proxy(&NewProxy {
                organization_id: t.organization.id,
                instance_id: other.id,
                name: "again",
                base_path: "mail-a",
                operations: None,
                cors_origins: &[],
                rate_limit: LIMIT,
                daily_quota: None,
                max_request_bytes: 1,
                now_ms: 1,
            })
            .await;
        assert!(matches!(taken, Err(StoreError::Conflict(_))), "{}", b.name);
        // Another organization sees nothing of it.
        assert!(
            b.store
                .get_proxy(t.organization.id, proxy.id)
                .await
                .unwrap()
                .is_none()
        );

        let mut changed = proxy.clone();
        changed.published = false;
        changed.operations = None;
        changed.daily_quota = None;
        let updated = b.store.update_proxy(&changed, 200).await.unwrap().unwrap();
        assert!(!updated.published);
        assert_eq!(updated.operations, None);
        assert_eq!(updated.updated_at_ms, 200);

        let revoked = b
            .store
            .revoke_proxy_key(proxy.id, key.id, 300)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(revoked.revoked_at_ms, Some(300));
        let again = b
            .store
            .revoke_proxy_key(proxy.id, key.id, 400)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            again.revoked_at_ms,
            Some(300),
            "the first revocation stands"
        );

        b.store
            .record_proxy_calls(&[call(proxy.id, Some(key.id), 500, 200)])
            .await
            .unwrap();
        assert!(
            b.store
                .delete_proxy(proxy.organization_id, proxy.id)
                .await
                .unwrap()
        );
        assert!(b.store.list_proxy_keys(proxy.id).await.unwrap().is_empty());
        assert!(
            b.store
                .list_proxy_calls(proxy.id, 0, i64::MAX, 10)
                .await
                .unwrap()
                .is_empty()
        );
    }
    finish(backends).await;
}

#[tokio::test]
async fn a_bucket_refuses_when_empty_and_refills_with_time() {
    let backends = backends().await;
    for b in &backends {
        let (_, key) = proxy_with_key(&b.store, "bucket", 5.0).await;
        // 5 tokens, one more every 200 ms.
        let refill = 5.0 / 1000.0;
        for n in 0..5 {
            let outcome = b
                .store
                .take_proxy_token(key.id, &request(1_000, 5.0, refill, None))
                .await
                .unwrap();
            assert!(
                matches!(outcome, TokenOutcome::Taken { .. }),
                "{}: call {n}",
                b.name
            );
        }
        let refused = b
            .store
            .take_proxy_token(key.id, &request(1_000, 5.0, refill, None))
            .await
            .unwrap();
        let TokenOutcome::Refused(state) = refused else {
            panic!(
                "{}: a sixth call in the same instant got {refused:?}",
                b.name
            )
        };
        assert!(state.tokens < 1.0);
        // 200 ms later one token is back, and only one.
        let later = request(1_200, 5.0, refill, None);
        assert!(matches!(
            b.store.take_proxy_token(key.id, &later).await.unwrap(),
            TokenOutcome::Taken { .. }
        ));
        assert!(matches!(
            b.store.take_proxy_token(key.id, &later).await.unwrap(),
            TokenOutcome::Refused(_)
        ));
        let saved = ferry_store::BucketState {
            tokens: 2.5,
            at_ms: 9_000,
            quota_day: 3,
            quota_used: 7,
        };
        b.store
            .save_proxy_buckets(&[(key.id, saved)])
            .await
            .unwrap();
        assert_eq!(b.store.proxy_bucket(key.id).await.unwrap(), Some(saved));
        assert_eq!(
            b.store.proxy_bucket(ProxyKeyId(987_654)).await.unwrap(),
            None
        );
        assert_eq!(
            b.store
                .take_proxy_token(ProxyKeyId(987_654), &later)
                .await
                .unwrap(),
            TokenOutcome::NoSuchKey
        );
    }
    finish(backends).await;
}

#[tokio::test]
async fn a_daily_quota_counts_calls_and_starts_over_the_next_day() {
    let backends = backends().await;
    for b in &backends {
        let (_, key) = proxy_with_key(&b.store, "quota", 100.0).await;
        let today = request(1_000, 100.0, 1.0, Some(3));
        for _ in 0..3 {
            assert!(matches!(
                b.store.take_proxy_token(key.id, &today).await.unwrap(),
                TokenOutcome::Taken { .. }
            ));
        }
        let refused = b.store.take_proxy_token(key.id, &today).await.unwrap();
        let TokenOutcome::Refused(state) = refused else {
            panic!("{}: the fourth call of the day got {refused:?}", b.name)
        };
        assert_eq!((state.quota_day, state.quota_used), (1, 3));
        let tomorrow = TokenRequest { day: 2, ..today };
        assert_eq!(
            b.store.take_proxy_token(key.id, &tomorrow).await.unwrap(),
            TokenOutcome::Taken {
                tokens_left: 96.0,
                quota_used: 1
            },
            "{}",
            b.name
        );
    }
    finish(backends).await;
}

#[tokio::test]
async fn two_processes_share_one_bucket() {
    let backends = backends().await;
    for b in &backends {
        let (_, key) = proxy_with_key(&b.store, "shared", 20.0).await;
        let other = b.second_process().await;
        // No refill within the test: exactly the 20 tokens may be spent, whoever spends them.
        let take = |store: Store| async move {
            let mut taken = 0;
            for _ in 0..25 {
                if let TokenOutcome::Taken { .. } = store
                    .take_proxy_token(key.id, &request(5_000, 20.0, 0.0, None))
                    .await
                    .unwrap()
                {
                    taken += 1;
                }
            }
            taken
        };
        let (first, second) = tokio::join!(
            tokio::spawn(take(b.store.clone())),
            tokio::spawn(take(other.clone()))
        );
        let (first, second) = (first.unwrap(), second.unwrap());
        assert_eq!(first + second, 20, "{}: {first} + {second}", b.name);
        other.close().await;
    }
    finish(backends).await;
}

fn call(
    proxy: ferry_model::ProxyId,
    key: Option<ProxyKeyId>,
    at_ms: i64,
    status: u16,
) -> ProxyCall {
    ProxyCall {
        proxy_id: proxy,
        key_id: key,
        at_ms,
        method: "GET".into(),
        operation: "listMessages".into(),
        status,
        latency_us: 1_500,
        request_bytes: 0,
        response_bytes: 2_048,
    }
}

#[tokio::test]
async fn calls_are_summed_by_time_and_group_and_kept_bounded() {
    let backends = backends().await;
    for b in &backends {
        let (proxy, key) = proxy_with_key(&b.store, "usage", 5.0).await;
        let calls = vec![
            call(proxy.id, Some(key.id), 60_000, 200),
            call(proxy.id, Some(key.id), 61_000, 200),
            call(proxy.id, None, 62_000, 401),
            call(proxy.id, Some(key.id), 125_000, 429),
        ];
        b.store.record_proxy_calls(&calls).await.unwrap();
        let by_status = b
            .store
            .proxy_usage(
                proxy.id,
                &UsageQuery {
                    from_ms: 0,
                    to_ms: 200_000,
                    bucket_ms: 60_000,
                    group: UsageGroup::Status,
                },
            )
            .await
            .unwrap();
        let summary: Vec<(i64, &str, i64)> = by_status
            .iter()
            .map(|row| (row.bucket_start_ms, row.group.as_str(), row.calls))
            .collect();
        assert_eq!(
            summary,
            vec![(60_000, "200", 2), (60_000, "401", 1), (120_000, "429", 1)],
            "{}",
            b.name
        );
        assert_eq!(by_status[0].latency_us_total, 3_000);
        assert_eq!(by_status[0].response_bytes, 4_096);
        let by_key = b
            .store
            .proxy_usage(
                proxy.id,
                &UsageQuery {
                    from_ms: 0,
                    to_ms: 200_000,
                    bucket_ms: 1_000_000,
                    group: UsageGroup::Key,
                },
            )
            .await
            .unwrap();
        let keys: Vec<(&str, i64)> = by_key
            .iter()
            .map(|row| (row.group.as_str(), row.calls))
            .collect();
        assert_eq!(keys, vec![("", 1), (key.id.to_string().as_str(), 3)]);

        assert_eq!(
            b.store
                .list_proxy_calls(proxy.id, 0, 200_000, 10)
                .await
                .unwrap(),
            calls
        );
        // Older than 61 s goes; then at most two per proxy stay, the newest.
        assert_eq!(b.store.purge_proxy_calls(61_000, 2).await.unwrap(), 2);
        let kept = b
            .store
            .list_proxy_calls(proxy.id, 0, 200_000, 10)
            .await
            .unwrap();
        assert_eq!(kept, calls[2..].to_vec(), "{}", b.name);
    }
    finish(backends).await;
}

#[tokio::test]
async fn a_bucket_kept_in_memory_decides_as_the_database_does() {
    let backends = backends().await;
    for b in &backends {
        let (_, key) = proxy_with_key(&b.store, "memory", 3.0).await;
        let mut memory = b.store.proxy_bucket(key.id).await.unwrap().unwrap();
        // Bursts, pauses, a quota and a new day, with a refill of one token per 100 ms.
        let times = [
            100, 100, 100, 100, 150, 250, 260, 900, 900, 900, 900, 86_400_100, 86_400_100,
        ];
        for (n, now) in times.into_iter().enumerate() {
            let request = TokenRequest {
                now_ms: now,
                capacity: 3.0,
                refill_per_ms: 0.01,
                day: now / 86_400_000,
                daily_quota: Some(6),
            };
            let stored = b.store.take_proxy_token(key.id, &request).await.unwrap();
            let kept = memory.take(&request);
            let taken = |o: &TokenOutcome| matches!(o, TokenOutcome::Taken { .. });
            assert_eq!(
                taken(&stored),
                taken(&kept),
                "{}: call {n} at {now}",
                b.name
            );
            if let (
                TokenOutcome::Taken {
                    tokens_left: a,
                    quota_used: x,
                },
                TokenOutcome::Taken {
                    tokens_left: c,
                    quota_used: y,
                },
            ) = (stored, kept)
            {
                assert!((a - c).abs() < 1e-9 && x == y, "{}: call {n}", b.name);
            }
        }
    }
    finish(backends).await;
}
