//! Terminals into a lab's servers over WebSockets.

use axum::Router;

use super::Portal;

/// The open terminal sessions.
#[derive(Default)]
pub struct Sessions {}

pub fn router() -> Router<Portal> {
    Router::new()
}
