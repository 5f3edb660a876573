//! The target of the flow benchmark's HTTP step, like the peers' stub: drains the body, answers
//! `200 {"id": "msg-<n>"}`.

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub async fn serve(port: u16) {
    let counter = Arc::new(AtomicU64::new(0));
    let app = Router::new().route(
        "/{*path}",
        post(move |_body: Bytes| {
            let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
            async move { axum::Json(serde_json::json!({"id": format!("msg-{n}")})) }
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("stub port");
    axum::serve(listener, app).await.expect("stub serves");
}
