//! `Health`: a store that is up answers the ping.

use beckon_ports::Health;
use futures_util::FutureExt;

use crate::{Contract, Storage, ok};

/// This port's contracts.
pub fn contracts<S: Storage>() -> Vec<Contract<S>> {
    vec![Contract::new(
        "Health",
        "ping_answers_while_the_store_is_up",
        |s| ping_answers_while_the_store_is_up(s).boxed(),
    )]
}

/// `ping` succeeds on a store that can be reached (the suite cannot take
/// an adapter's database away; `Unavailable` is for its own tests).
pub async fn ping_answers_while_the_store_is_up<S: Storage>(store: S) {
    ok(Health::ping(&store).await, "pinging a store that is up");
}
