//! Conformance suites: one module per driven port. Each has
//! `run_all(&dyn Port)` plus every check as its own `pub async fn`.
//!
//! The suites panic (like `assert!`) with a message that names the port,
//! the check and what the adapter did wrong. They make their own random
//! project ids, domains and flavor ids, and clean up what they create when
//! a check passes, so they can run again and again against a persistent
//! backend shared with other runs. They use the wall clock: do not run them
//! with tokio's clock paused.

pub mod certificates;
pub mod dns;
pub mod flavor;
pub mod jobs;
pub mod log_delivery;
pub mod provider;
pub mod store;

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use crate::ports::PortError;

/// Unwraps a port result, or fails the check saying which call failed.
#[track_caller]
pub(crate) fn ok<T>(result: Result<T, PortError>, what: impl Display) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("{what}: expected success, got error {e:?} ({e})"),
    }
}

/// Unwraps an expected error, or fails the check saying what was expected.
#[track_caller]
pub(crate) fn err<T: std::fmt::Debug>(
    result: Result<T, PortError>,
    what: impl Display,
) -> PortError {
    match result {
        Ok(value) => panic!("{what}: expected an error, got Ok({value:?})"),
        Err(e) => e,
    }
}

/// Polls all `futures` concurrently on the current task (the suites borrow
/// the port, so they cannot spawn). Outputs are in input order.
pub(crate) async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}
