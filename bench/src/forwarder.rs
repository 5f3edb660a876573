//! The machine's practical limit for one proxy hop: an HTTP server that forwards each request to
//! the upstream with a fixed bearer token and returns the reply — no auth lookup, no engine, no
//! storage, the same HTTP stack as ferry (hyper through axum and reqwest). Whatever ferry does on
//! top of this costs time that this figure makes visible. A `GET /` is forwarded as a GET (the hub
//! benchmark); a `POST /` forwards its JSON body as a POST (the flow benchmark's hop: webhook in,
//! request to the stub, the stub's answer back).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

#[derive(Clone)]
struct Upstream {
    http: reqwest::Client,
    url: String,
    authorization: String,
}

async fn forward(State(upstream): State<Upstream>) -> Response {
    let reply = upstream
        .http
        .get(&upstream.url)
        .header(header::AUTHORIZATION, &upstream.authorization)
        .send()
        .await;
    answer(reply).await
}

async fn forward_post(State(upstream): State<Upstream>, body: Bytes) -> Response {
    let reply = upstream
        .http
        .post(&upstream.url)
        .header(header::AUTHORIZATION, &upstream.authorization)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    answer(reply).await
}

async fn answer(reply: reqwest::Result<reqwest::Response>) -> Response {
    match reply {
        Ok(reply) => {
            let status =
                StatusCode::from_u16(reply.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let body: Bytes = reply.bytes().await.unwrap_or_default();
            (
                status,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response()
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

pub async fn serve(port: u16, url: String, authorization: String) {
    let upstream = Upstream {
        http: reqwest::Client::new(),
        url,
        authorization,
    };
    let app = Router::new()
        .route("/", get(forward).post(forward_post))
        .with_state(upstream);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("forwarder port");
    axum::serve(listener, app).await.expect("forwarder serves");
}
