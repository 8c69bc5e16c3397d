//! Helm's install and uninstall order of Kubernetes kinds, and a stable sort by it.
//!
//! Helm applies a release's objects kind by kind (Namespaces before the Deployments that
//! live in them, ConfigMaps before the pods that mount them) and deletes them in another
//! order. `deploykit-chart` sorts `helm template` output by it and `deploykit-cluster`
//! applies and deletes by it: this crate holds the one copy of Helm's tables.
//!
//! ```
//! use deploykit_kind_order::{INSTALL_ORDER, sort_by_kind};
//!
//! let mut kinds = vec!["Deployment", "MyResource", "Namespace", "ConfigMap"];
//! sort_by_kind(&mut kinds, INSTALL_ORDER, |kind| kind);
//! assert_eq!(kinds, ["Namespace", "ConfigMap", "Deployment", "MyResource"]);
//! ```

/// Kinds in the order Helm installs them (`releaseutil.InstallOrder`); other kinds come
/// after, alphabetically.
pub const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Kinds in the order Helm uninstalls them (`releaseutil.UninstallOrder`: roughly the
/// reverse of [`INSTALL_ORDER`], Services earlier).
pub const UNINSTALL_ORDER: &[&str] = &[
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "APIService",
    "Ingress",
    "IngressClass",
    "Service",
    "CronJob",
    "Job",
    "StatefulSet",
    "HorizontalPodAutoscaler",
    "Deployment",
    "ReplicaSet",
    "ReplicationController",
    "Pod",
    "DaemonSet",
    "RoleBindingList",
    "RoleBinding",
    "RoleList",
    "Role",
    "ClusterRoleBindingList",
    "ClusterRoleBinding",
    "ClusterRoleList",
    "ClusterRole",
    "CustomResourceDefinition",
    "PersistentVolumeClaim",
    "PersistentVolume",
    "StorageClass",
    "ConfigMap",
    "SecretList",
    "Secret",
    "ServiceAccount",
    "PodDisruptionBudget",
    "PodSecurityPolicy",
    "LimitRange",
    "ResourceQuota",
    "NetworkPolicy",
    "Namespace",
    "PriorityClass",
];

/// Sorts stably by `order`: known kinds by position, unknown kinds last by kind name.
pub fn sort_by_kind<T>(items: &mut [T], order: &[&str], kind: impl Fn(&T) -> &str) {
    items.sort_by(|a, b| {
        let (ka, kb) = (kind(a), kind(b));
        let (pa, pb) = (
            order.iter().position(|k| *k == ka),
            order.iter().position(|k| *k == kb),
        );
        match (pa, pb) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => ka.cmp(kb),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_kinds_go_last_alphabetically_and_the_sort_is_stable() {
        let mut items = vec![
            ("Zebra", 1),
            ("Service", 1),
            ("Apple", 1),
            ("Namespace", 1),
            ("Service", 2),
        ];
        sort_by_kind(&mut items, INSTALL_ORDER, |item| item.0);
        assert_eq!(
            items,
            [
                ("Namespace", 1),
                ("Service", 1),
                ("Service", 2),
                ("Apple", 1),
                ("Zebra", 1)
            ]
        );
    }

    #[test]
    fn both_orders_hold_the_same_kinds() {
        let mut install = INSTALL_ORDER.to_vec();
        let mut uninstall = UNINSTALL_ORDER.to_vec();
        install.sort_unstable();
        uninstall.sort_unstable();
        assert_eq!(install, uninstall);
    }
}
