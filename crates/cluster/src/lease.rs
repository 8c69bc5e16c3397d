//! Who may change a release right now: a `coordination.k8s.io/v1` Lease per release, with
//! holder and expiry. The pure part judges a lease; the I/O part lives in `client`.

use chrono::{DateTime, Duration, Utc};
use k8s_openapi::api::coordination::v1::Lease;

/// Name of the lease guarding a release.
pub fn lease_name(release: &str) -> String {
    format!("deploykit.{release}")
}

/// What a lease says about the release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseState {
    /// Nobody holds it.
    Free,
    /// We hold it.
    Ours,
    /// Someone else holds it until `expires`.
    Held {
        /// The holder's identity.
        holder: String,
        /// When it lapses unless renewed.
        expires: DateTime<Utc>,
    },
    /// Someone held it but stopped renewing (crashed, lost the connection, killed).
    Expired {
        /// The last holder.
        holder: String,
        /// When it lapsed.
        expired: DateTime<Utc>,
    },
}

/// Judges a lease at `now` for the client `me`.
pub fn lease_state(lease: &Lease, me: &str, now: DateTime<Utc>) -> LeaseState {
    let Some(spec) = &lease.spec else {
        return LeaseState::Free;
    };
    let Some(holder) = spec.holder_identity.clone().filter(|h| !h.is_empty()) else {
        return LeaseState::Free;
    };
    if holder == me {
        return LeaseState::Ours;
    }
    let renewed = spec
        .renew_time
        .as_ref()
        .or(spec.acquire_time.as_ref())
        .map(|t| t.0);
    let duration = Duration::seconds(i64::from(spec.lease_duration_seconds.unwrap_or(0)));
    match renewed {
        Some(renewed) if renewed + duration > now => LeaseState::Held {
            holder,
            expires: renewed + duration,
        },
        Some(renewed) => LeaseState::Expired {
            holder,
            expired: renewed + duration,
        },
        None => LeaseState::Expired {
            holder,
            expired: now,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::coordination::v1::LeaseSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;

    fn lease(
        holder: Option<&str>,
        renewed_secs_ago: i64,
        duration: i32,
        now: DateTime<Utc>,
    ) -> Lease {
        Lease {
            spec: Some(LeaseSpec {
                holder_identity: holder.map(str::to_string),
                renew_time: Some(MicroTime(now - Duration::seconds(renewed_secs_ago))),
                lease_duration_seconds: Some(duration),
                ..LeaseSpec::default()
            }),
            ..Lease::default()
        }
    }

    #[test]
    fn judges_holder_and_expiry() {
        let now = Utc::now();
        assert_eq!(
            lease_state(&lease(None, 0, 30, now), "me", now),
            LeaseState::Free
        );
        assert_eq!(
            lease_state(&lease(Some("me"), 100, 30, now), "me", now),
            LeaseState::Ours
        );
        assert!(
            matches!(lease_state(&lease(Some("ci"), 10, 30, now), "me", now), LeaseState::Held { holder, .. } if holder == "ci")
        );
        assert!(
            matches!(lease_state(&lease(Some("ci"), 31, 30, now), "me", now), LeaseState::Expired { holder, .. } if holder == "ci")
        );
        assert_eq!(lease_name("todo"), "deploykit.todo");
    }
}
