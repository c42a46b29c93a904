//! The domain's metrics, recorded through the `metrics` facade: without a
//! recorder installed by the embedding program they cost nothing.
//! `beckon serve` installs a Prometheus recorder (`BECKON_METRICS_LISTEN`).

use std::sync::Arc;

use beckon_ports::{Authorizer, AuthzRequest, Decision};

use crate::deliver_outbox::DeliveryReport;

/// Authorization decisions, by `action` (the policies' action name) and
/// `decision` (`allow` or `deny`).
pub const AUTHZ_DECISIONS_TOTAL: &str = "beckon_authz_decisions_total";
/// Delivery attempts settled by the outbox worker, by `kind` (`email`) and
/// `outcome` (`sent`, `retry` or `failed`).
pub const DELIVERIES_TOTAL: &str = "beckon_deliveries_total";

/// The authorizer every use case asks (see `Beckon::new`): the one it
/// wraps, with each decision counted.
pub(crate) struct CountedAuthorizer(pub(crate) Arc<dyn Authorizer>);

impl Authorizer for CountedAuthorizer {
    fn authorize(&self, request: &AuthzRequest) -> Decision {
        let decision = self.0.authorize(request);
        let label = match decision {
            Decision::Allow => "allow",
            Decision::Deny { .. } => "deny",
        };
        metrics::counter!(
            AUTHZ_DECISIONS_TOTAL,
            "action" => request.action.as_str(),
            "decision" => label
        )
        .increment(1);
        decision
    }
}

/// Counts the outcomes of a settled batch of emails.
pub(crate) fn record_deliveries(report: &DeliveryReport) {
    record_deliveries_of("email", report);
}

/// `beckon_deliveries_total{kind="webhook",…}` for one webhook step.
pub(crate) fn record_webhook_deliveries(report: &DeliveryReport) {
    record_deliveries_of("webhook", report);
}

fn record_deliveries_of(kind: &'static str, report: &DeliveryReport) {
    for (outcome, n) in [
        ("sent", report.sent),
        ("retry", report.retried),
        ("failed", report.failed),
    ] {
        if n > 0 {
            metrics::counter!(DELIVERIES_TOTAL, "kind" => kind, "outcome" => outcome)
                .increment(u64::try_from(n).unwrap_or(u64::MAX));
        }
    }
}

#[cfg(test)]
mod tests {
    use beckon_ports::{Action, MockAuthorizer, Resource};
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use super::*;
    use crate::test_support::{principal, tenant_a};

    /// A counter: name, sorted labels, value.
    type Counted = (String, Vec<(String, String)>, u64);

    /// Every counter recorded by `f`.
    fn counters(f: impl FnOnce()) -> Vec<Counted> {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, f);
        let mut out: Vec<_> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter_map(|(key, _, _, value)| match value {
                DebugValue::Counter(n) => {
                    let key = key.key();
                    let mut labels: Vec<(String, String)> = key
                        .labels()
                        .map(|l| (l.key().to_owned(), l.value().to_owned()))
                        .collect();
                    labels.sort();
                    Some((key.name().to_owned(), labels, n))
                }
                _ => None,
            })
            .collect();
        out.sort();
        out
    }

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn each_decision_is_counted_by_action_and_outcome_and_passed_on() {
        let mut inner = MockAuthorizer::new();
        inner.expect_authorize().returning(|r| match r.action {
            Action::ReadUser => Decision::Allow,
            _ => Decision::Deny {
                notices: vec!["no".to_owned()],
            },
        });
        let counted = CountedAuthorizer(Arc::new(inner));
        let ask = |action| AuthzRequest {
            principal: principal(tenant_a(), "admin"),
            action,
            resource: Resource::Tenant { id: tenant_a() },
        };
        let mut answers = Vec::new();
        let got = counters(|| {
            answers.push(counted.authorize(&ask(Action::ReadUser)));
            answers.push(counted.authorize(&ask(Action::ReadUser)));
            answers.push(counted.authorize(&ask(Action::InviteUser)));
        });
        assert_eq!(answers[0], Decision::Allow);
        assert_eq!(
            answers[2],
            Decision::Deny {
                notices: vec!["no".to_owned()]
            },
            "the decision itself is passed on unchanged"
        );
        assert_eq!(
            got,
            vec![
                (
                    AUTHZ_DECISIONS_TOTAL.to_owned(),
                    labels(&[("action", "InviteUser"), ("decision", "deny")]),
                    1
                ),
                (
                    AUTHZ_DECISIONS_TOTAL.to_owned(),
                    labels(&[("action", "ReadUser"), ("decision", "allow")]),
                    2
                ),
            ]
        );
    }

    #[test]
    fn a_settled_batch_counts_each_outcome() {
        let report = DeliveryReport {
            claimed: 6,
            sent: 3,
            retried: 2,
            failed: 1,
            ..DeliveryReport::default()
        };
        let got = counters(|| record_deliveries(&report));
        let expected: Vec<_> = [("failed", 1), ("retry", 2), ("sent", 3)]
            .into_iter()
            .map(|(outcome, n)| {
                (
                    DELIVERIES_TOTAL.to_owned(),
                    labels(&[("kind", "email"), ("outcome", outcome)]),
                    n,
                )
            })
            .collect();
        assert_eq!(got, expected);
        assert!(counters(|| record_deliveries(&DeliveryReport::default())).is_empty());
    }
}
