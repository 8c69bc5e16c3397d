//! charts/todo-app under Helm's own engine and Kubernetes' schemas.
//!
//! Helm's engine (`../shared/helm-oracle`) lints and renders the chart; every rendered
//! manifest is validated in strict mode against the Kubernetes 1.30 OpenAPI schemas
//! (`kubernetes-validate`); the chart's own rules (replica guard, existingSecret,
//! checksums, pod security, schema messages) are asserted on Helm's output.

use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::Command;

const VALUES_FILES: [&str; 3] = [
    "values.yaml",
    "values-minikube.yaml",
    "ci/all-options-values.yaml",
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn chart_dir() -> PathBuf {
    repo_root().join("charts/todo-app")
}

fn oracle() -> Option<PathBuf> {
    let path = repo_root().join("../shared/helm-oracle/helm-oracle");
    let check = if !path.exists() {
        Err(format!("{} not found", path.display()))
    } else {
        let probe = Command::new("python3")
            .args(["-c", "import helm_python"])
            .output();
        match probe {
            Ok(out) if out.status.success() => Ok(()),
            _ => Err("python3 -m pip install 'helm-python-sdk==0.2.2' pyyaml".to_string()),
        }
    };
    deploykit_testkit::require("Helm's engine (helm-oracle)", check).then_some(path)
}

/// Helm's render of the chart: Ok(template path -> text) or Err(Helm's message).
fn helm_render(oracle: &Path, args: &[&str]) -> Result<serde_json::Map<String, Json>, String> {
    let out = Command::new(oracle)
        .arg("render")
        .arg(chart_dir())
        .args(["--name", "todo-app", "--namespace", "todo"])
        .args(args)
        .current_dir(chart_dir())
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    match serde_json::from_slice(&out.stdout).unwrap() {
        Json::Object(map) => Ok(map),
        other => panic!("helm-oracle printed {other}"),
    }
}

/// Every manifest (NOTES.txt left out) as parsed YAML documents.
fn manifests(rendered: &serde_json::Map<String, Json>) -> Vec<serde_yaml::Value> {
    rendered
        .iter()
        .filter(|(path, _)| !path.ends_with("NOTES.txt"))
        .flat_map(|(_, text)| {
            let text = text.as_str().unwrap().to_string();
            text.split("\n---")
                .map(|doc| serde_yaml::from_str::<serde_yaml::Value>(doc).unwrap())
                .filter(|doc| !doc.is_null())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn of_kind<'a>(docs: &'a [serde_yaml::Value], kind: &str) -> Vec<&'a serde_yaml::Value> {
    docs.iter()
        .filter(|doc| doc["kind"].as_str() == Some(kind))
        .collect()
}

fn values_file(name: &str) -> String {
    chart_dir().join(name).display().to_string()
}

#[test]
fn helm_lint_is_clean_in_strict_mode_for_every_values_file() {
    let Some(oracle) = oracle() else { return };
    for values in VALUES_FILES {
        let out = Command::new(&oracle)
            .args(["lint"])
            .arg(chart_dir())
            .args(["-f", &values_file(values), "--strict"])
            .output()
            .unwrap();
        let report: Json = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            out.status.success(),
            "helm lint --strict -f {values}: {report:#}"
        );
        assert_eq!(
            report["messages"],
            Json::Array(vec![]),
            "lint messages for {values}"
        );
    }
}

#[test]
fn every_manifest_validates_against_kubernetes_schemas_strictly() {
    let Some(oracle) = oracle() else { return };
    let validator = deploykit_testkit::require(
        "kubernetes-validate",
        if deploykit_testkit::on_path("kubernetes-validate") {
            Ok(())
        } else {
            Err("python3 -m pip install kubernetes-validate".into())
        },
    );
    if !validator {
        return;
    }
    for values in VALUES_FILES {
        let rendered = helm_render(&oracle, &["-f", &values_file(values)]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let docs = manifests(&rendered);
        assert!(docs.len() >= 9, "{values}: only {} manifests", docs.len());
        let mut files = Vec::new();
        for (i, doc) in docs.iter().enumerate() {
            let file = dir.path().join(format!("{i}.yaml"));
            std::fs::write(&file, serde_yaml::to_string(doc).unwrap()).unwrap();
            files.push(file);
        }
        let out = Command::new("kubernetes-validate")
            .args(["--strict", "-k", "1.30.0", "--quiet"])
            .args(&files)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{values}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn kubernetes_validate_catches_an_unknown_field() {
    // Guards the test above: a validator that accepts anything proves nothing.
    if !deploykit_testkit::on_path("kubernetes-validate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\nbogus: 1\n",
    )
    .unwrap();
    let out = Command::new("kubernetes-validate")
        .args(["--strict", "-k", "1.30.0", "--quiet"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn sqlite_mode_refuses_more_than_one_backend_replica() {
    let Some(oracle) = oracle() else { return };
    let error = helm_render(&oracle, &["--set", "backend.replicaCount=2"]).unwrap_err();
    assert!(
        error.contains("backend.replicaCount=2 needs an external database"),
        "{error}"
    );
    assert!(error.contains("Set database.url"), "{error}");
    let error = helm_render(&oracle, &["--set", "autoscaling.enabled=true"]).unwrap_err();
    assert!(
        error.contains("autoscaling.enabled=true needs an external database"),
        "{error}"
    );
    // With an external database, three replicas roll with maxUnavailable 0.
    let rendered = helm_render(
        &oracle,
        &[
            "--set",
            "backend.replicaCount=3",
            "--set",
            "database.url=postgres://u:p@db/todo",
        ],
    )
    .unwrap();
    let docs = manifests(&rendered);
    let backend = of_kind(&docs, "Deployment")
        .into_iter()
        .find(|d| d["metadata"]["name"] == "todo-app-backend")
        .unwrap();
    assert_eq!(backend["spec"]["replicas"], 3);
    assert_eq!(
        backend["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"],
        0
    );
    assert!(!backend["spec"]["template"]["spec"]["topologySpreadConstraints"].is_null());
    assert!(of_kind(&docs, "PersistentVolumeClaim").is_empty());
}

#[test]
fn sqlite_mode_runs_one_replica_with_recreate_on_a_kept_claim() {
    let Some(oracle) = oracle() else { return };
    let docs = manifests(&helm_render(&oracle, &[]).unwrap());
    let backend = of_kind(&docs, "Deployment")
        .into_iter()
        .find(|d| d["metadata"]["name"] == "todo-app-backend")
        .unwrap();
    assert_eq!(backend["spec"]["replicas"], 1);
    assert_eq!(backend["spec"]["strategy"]["type"], "Recreate");
    let claim = of_kind(&docs, "PersistentVolumeClaim")[0];
    assert_eq!(
        claim["metadata"]["annotations"]["helm.sh/resource-policy"],
        "keep"
    );
}

#[test]
fn existing_secret_replaces_the_charts_secret() {
    let Some(oracle) = oracle() else { return };
    let rendered = helm_render(&oracle, &["--set", "existingSecret=my-secrets"]).unwrap();
    let docs = manifests(&rendered);
    assert!(
        of_kind(&docs, "Secret").is_empty(),
        "the chart must not create a Secret"
    );
    let text = serde_yaml::to_string(&docs).unwrap();
    assert!(text.contains("name: my-secrets"));
}

#[test]
fn config_changes_roll_the_pods_through_checksums() {
    let Some(oracle) = oracle() else { return };
    let checksum = |args: &[&str], key: &str| {
        let docs = manifests(&helm_render(&oracle, args).unwrap());
        of_kind(&docs, "Deployment")
            .iter()
            .map(|d| d["spec"]["template"]["metadata"]["annotations"][key].clone())
            .collect::<Vec<_>>()
    };
    let base = checksum(&[], "checksum/config");
    assert_eq!(
        base,
        checksum(&[], "checksum/config"),
        "stable across renders"
    );
    assert_ne!(
        base,
        checksum(&["--set", "config.logLevel=debug"], "checksum/config")
    );
    let secret = checksum(&["--set", "secrets.betterAuthSecret=a"], "checksum/secret");
    assert_ne!(
        secret,
        checksum(&["--set", "secrets.betterAuthSecret=b"], "checksum/secret")
    );
}

#[test]
fn ingress_sends_every_path_to_the_frontend_and_the_policy_lets_it_in() {
    let Some(oracle) = oracle() else { return };
    let all_options = values_file("ci/all-options-values.yaml");
    let docs = manifests(&helm_render(&oracle, &["-f", &all_options]).unwrap());
    let ingress = of_kind(&docs, "Ingress")[0];
    let paths: Vec<&serde_yaml::Value> = ingress["spec"]["rules"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|rule| rule["http"]["paths"].as_sequence().unwrap())
        .collect();
    assert!(!paths.is_empty());
    for path in &paths {
        // The backend ignores the session cookie: /api must go through the frontend.
        let service = &path["backend"]["service"];
        assert_eq!(service["name"], "todo-frontend", "{path:?}");
        assert_eq!(service["port"]["name"], "http", "{path:?}");
    }
    assert!(
        paths
            .iter()
            .any(|path| path["path"] == "/" && path["pathType"] == "Prefix"),
        "{paths:?}"
    );

    // The frontend's NetworkPolicy admits the ingress controller (any source) on the port
    // the Ingress reaches; the backend's admits only the frontend and the test pod.
    let policy = |suffix: &str| {
        of_kind(&docs, "NetworkPolicy")
            .into_iter()
            .find(|p| p["metadata"]["name"] == format!("todo-app-{suffix}"))
            .unwrap()
    };
    let open_to_all = policy("frontend")["spec"]["ingress"]
        .as_sequence()
        .unwrap()
        .iter()
        .any(|rule| {
            rule["from"].is_null()
                && rule["ports"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .any(|port| port["port"] == "http")
        });
    assert!(open_to_all, "{:?}", policy("frontend"));
    let backend_sources = policy("backend")["spec"]["ingress"][0]["from"]
        .as_sequence()
        .unwrap()
        .len();
    assert_eq!(backend_sources, 2, "frontend and test pod only");
}

#[test]
fn secret_checksum_rolls_the_backend_without_revealing_the_secrets() {
    let Some(oracle) = oracle() else { return };
    let annotation = |sets: &[&str]| {
        let args: Vec<&str> = sets.iter().flat_map(|set| ["--set", set]).collect();
        let docs = manifests(&helm_render(&oracle, &args).unwrap());
        let backend = of_kind(&docs, "Deployment")
            .into_iter()
            .find(|d| d["metadata"]["name"] == "todo-app-backend")
            .unwrap();
        backend["spec"]["template"]["metadata"]["annotations"]["checksum/secret"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let key_a = "secrets.betterAuthSecret=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let key_b = "secrets.betterAuthSecret=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    let url_1 = "database.url=postgres://todo:hunter2@db/todo";
    let url_2 = "database.url=postgres://todo:hunter3@db/todo";

    // With the signing key known, a changed database password rolls the pods, and the
    // same password under another key gives another value: without the key (which is
    // in the Secret, not the Deployment) a guess at the password cannot be tested.
    let keyed = annotation(&[key_a, url_1]);
    assert_eq!(keyed, annotation(&[key_a, url_1]), "stable across renders");
    assert_ne!(keyed, annotation(&[key_a, url_2]), "a new password rolls");
    assert_ne!(
        keyed,
        annotation(&[key_b, url_1]),
        "keyed by the signing key"
    );

    // With the key generated in this very render, nothing secret is hashed at all.
    let unkeyed = annotation(&[url_1]);
    assert_eq!(unkeyed, annotation(&[url_2]), "the password does not show");
    assert_eq!(unkeyed, annotation(&[]));
    // existingSecret: only its name.
    let existing = annotation(&["existingSecret=my-secrets", url_1]);
    assert_eq!(existing, annotation(&["existingSecret=my-secrets", url_2]));
    assert_ne!(existing, annotation(&["existingSecret=other-secrets"]));
}

#[test]
fn every_pod_runs_at_the_restricted_security_level() {
    let Some(oracle) = oracle() else { return };
    let all_options = values_file("ci/all-options-values.yaml");
    let rendered = helm_render(&oracle, &["-f", &all_options]).unwrap();
    let docs = manifests(&rendered);
    let mut pods: Vec<&serde_yaml::Value> = Vec::new();
    for kind in ["Deployment", "StatefulSet"] {
        pods.extend(
            of_kind(&docs, kind)
                .iter()
                .map(|d| &d["spec"]["template"]["spec"]),
        );
    }
    pods.extend(of_kind(&docs, "Pod").iter().map(|d| &d["spec"]));
    assert_eq!(
        pods.len(),
        4,
        "backend, frontend, postgresql and the test pod"
    );
    for pod in pods {
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        assert_eq!(pod["automountServiceAccountToken"], false);
        for container in pod["containers"].as_sequence().unwrap() {
            let context = &container["securityContext"];
            assert_eq!(context["allowPrivilegeEscalation"], false, "{container:?}");
            assert_eq!(context["readOnlyRootFilesystem"], true);
            assert_eq!(context["capabilities"]["drop"][0], "ALL");
        }
    }
}

#[test]
fn schema_rejects_bad_values_naming_the_path() {
    let Some(oracle) = oracle() else { return };
    let cases = [
        (
            "backend.replicaCount=two",
            "at '/backend/replicaCount': got string, want integer",
        ),
        (
            "backend.bogus=1",
            "at '/backend': additional properties 'bogus' not allowed",
        ),
        ("frontend.service.type=Magic", "/frontend/service/type"),
        ("config.environment=staging", "/config/environment"),
    ];
    for (set, expected) in cases {
        let error = helm_render(&oracle, &["--set", set]).unwrap_err();
        assert!(error.contains(expected), "--set {set}: {error}");
    }
}

#[test]
fn notes_tell_how_to_reach_the_app_and_never_print_a_secret() {
    let Some(oracle) = oracle() else { return };
    let secret = "s3cret-value-that-must-not-leak";
    let minikube = values_file("values-minikube.yaml");
    let secret_flag = format!("secrets.betterAuthSecret={secret}");
    let rendered = helm_render(&oracle, &["-f", &minikube, "--set", &secret_flag]).unwrap();
    let notes = rendered["todo-app/templates/NOTES.txt"].as_str().unwrap();
    assert!(
        notes.contains("minikube service todo-frontend -n todo --url"),
        "{notes}"
    );
    assert!(!notes.contains(secret));
    let rendered = helm_render(&oracle, &[]).unwrap();
    let notes = rendered["todo-app/templates/NOTES.txt"].as_str().unwrap();
    assert!(notes.contains("kubectl port-forward -n todo svc/todo-frontend 3000:3000"));
}

/// Masks the generated secret (randAlphaNum differs between any two renders).
fn mask_generated(text: &str) -> String {
    text.lines()
        .map(|line| match line.split_once("BETTER_AUTH_SECRET: ") {
            Some((indent, _)) => format!("{indent}BETTER_AUTH_SECRET: <generated>"),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn deploykit_renders_the_chart_exactly_as_helm_does() {
    let Some(oracle) = oracle() else { return };
    for values in VALUES_FILES {
        let helm = helm_render(&oracle, &["-f", &values_file(values)]).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .arg("render")
            .arg(chart_dir())
            .args(["-f", &values_file(values)])
            .args(["--release-name", "todo-app", "--namespace", "todo"])
            .args(["--format", "json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ours: serde_json::Map<String, Json> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            helm.keys().collect::<Vec<_>>(),
            "{values}"
        );
        for (path, expected) in &helm {
            let expected = mask_generated(expected.as_str().unwrap());
            let actual = mask_generated(ours[path].as_str().unwrap());
            assert_eq!(actual, expected, "{values}: {path}");
        }
    }
}
