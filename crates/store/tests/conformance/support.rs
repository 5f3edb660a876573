//! One store per backend for every test: SQLite always, PostgreSQL (a schema of its own) when
//! `FERRY_TEST_DATABASE_URL` is set — and required when `CI=true`.

use ferry_store::{MasterKey, NewUser, Store, StoreOptions};

pub struct Backend {
    pub name: &'static str,
    pub store: Store,
    /// How a second process would reach the same database.
    pub url: String,
    pub key: MasterKey,
    schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

pub async fn backends() -> Vec<Backend> {
    let key = MasterKey::generate();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("ferry.db").display());
    let sqlite = Store::connect(&url, &key, StoreOptions::default())
        .await
        .unwrap();
    let mut all = vec![Backend {
        name: "sqlite",
        store: sqlite,
        url,
        key: key.clone(),
        schema: None,
        _dir: Some(dir),
    }];
    match std::env::var("FERRY_TEST_DATABASE_URL") {
        Ok(url) => {
            let schema = format!("ferry_test_{}", rand_suffix());
            let options = StoreOptions {
                schema: Some(schema.clone()),
                ..StoreOptions::default()
            };
            let store = Store::connect(&url, &key, options).await.unwrap();
            all.push(Backend {
                name: "postgres",
                store,
                url,
                key: key.clone(),
                schema: Some(schema),
                _dir: None,
            });
        }
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!(
                "CI=true but FERRY_TEST_DATABASE_URL is not set: the PostgreSQL half of the suite would not run"
            )
        }
        Err(_) => {}
    }
    all
}

impl Backend {
    /// Another connection pool to the same database, as a second ferry process would open.
    pub async fn second_process(&self) -> Store {
        let options = StoreOptions {
            schema: self.schema.clone(),
            ..StoreOptions::default()
        };
        Store::connect(&self.url, &self.key, options).await.unwrap()
    }

    /// The same database opened with another master key and the keys it may still meet.
    pub async fn reopen_with(&self, key: &MasterKey, previous: &[MasterKey]) -> Store {
        let options = StoreOptions {
            schema: self.schema.clone(),
            previous_keys: previous.to_vec(),
            ..StoreOptions::default()
        };
        Store::connect(&self.url, key, options).await.unwrap()
    }
}

pub async fn finish(backends: Vec<Backend>) {
    for backend in backends {
        if let Some(schema) = &backend.schema {
            backend.store.drop_schema(schema).await.unwrap();
        }
        backend.store.close().await;
    }
}

fn rand_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}_{}", std::process::id(), nanos % 1_000_000_000)
}

pub struct Tenant {
    pub organization: ferry_model::tenancy::Organization,
    pub user: ferry_model::tenancy::User,
}

pub async fn tenant(store: &Store, tag: &str) -> Tenant {
    let organization = store
        .create_organization(&format!("org {tag}"), &format!("org-hash-{tag}"), 1)
        .await
        .unwrap();
    let user = store
        .create_user(NewUser {
            organization_id: organization.id,
            email: &format!("{tag}@example.com"),
            first_name: "Ada",
            last_name: "Lovelace",
            secret_hash: &format!("user-hash-{tag}"),
            now_ms: 1,
        })
        .await
        .unwrap();
    Tenant { organization, user }
}
