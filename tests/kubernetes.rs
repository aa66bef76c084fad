//! deploy/kubernetes/ as this build understands it: every vnready container runs flags this
//! build accepts, the weekly CronJob runs exactly the Indexed Job's spec, the StatefulSet's
//! shard count matches its replicas and Prometheus's hashmod modulus, and the Prometheus
//! config it ships passes promtool. (The schemas are checked by scripts/validate-manifests.sh.)

use std::path::{Path, PathBuf};

use serde_json::Value;

fn manifests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes")
}

/// Every resource of every manifest, with its file name.
fn resources() -> Vec<(String, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(manifests_dir())
        .expect("deploy/kubernetes")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "the manifests are shipped: {files:?}");
    let mut all = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read manifest");
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        for document in text.split("\n---\n") {
            let value: Value = serde_saphyr::from_str(document).unwrap_or_else(|err| panic!("{name}: {err}"));
            all.push((name.clone(), value));
        }
    }
    all
}

fn find<'a>(resources: &'a [(String, Value)], kind: &str) -> Vec<&'a Value> {
    resources
        .iter()
        .filter(|(_, r)| r["kind"] == kind)
        .map(|(_, r)| r)
        .collect()
}

/// The pod spec of a workload (Job, CronJob, StatefulSet).
fn pod_spec(resource: &Value) -> &Value {
    match resource["kind"].as_str() {
        Some("CronJob") => &resource["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        _ => &resource["spec"]["template"]["spec"],
    }
}

/// `command` + `args` of the vnready container, `$(VAR)` replaced by a sample value.
fn vnready_words(resource: &Value) -> Vec<String> {
    let container = pod_spec(resource)["containers"]
        .as_array()
        .and_then(|containers| containers.iter().find(|c| c["name"] == "vnready"))
        .expect("a vnready container");
    let mut words: Vec<String> = container["command"]
        .as_array()
        .expect("command")
        .iter()
        .chain(container["args"].as_array().expect("args"))
        .map(|word| word.as_str().expect("string").to_string())
        .collect();
    for word in &mut words {
        *word = word
            .replace("$(JOB_NAME)", "vnready-sweep")
            .replace("$(JOB_COMPLETION_INDEX)", "0")
            .replace("$(POD_INDEX)", "2");
    }
    words
}

#[test]
fn every_vnready_container_runs_flags_this_build_accepts() {
    use clap::Parser;
    let resources = resources();
    let mut workloads = 0;
    for kind in ["Job", "CronJob", "StatefulSet"] {
        for resource in find(&resources, kind) {
            let words = vnready_words(resource);
            let parsed = vnready::cli::Cli::try_parse_from(&words);
            assert!(
                parsed.is_ok(),
                "{kind} {words:?}: {}",
                parsed.err().map(|e| e.to_string()).unwrap_or_default()
            );
            workloads += 1;
        }
    }
    assert_eq!(workloads, 3, "an Indexed Job, a CronJob and a StatefulSet");
}

#[test]
fn the_sweep_is_an_indexed_job_whose_shards_are_its_completions() {
    let resources = resources();
    let job = find(&resources, "Job")[0];
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    let completions = job["spec"]["completions"].as_u64().expect("completions");
    let words = vnready_words(job);
    assert!(words.contains(&format!("--shards={completions}")), "{words:?}");
    assert!(
        words.contains(&"--resume".to_string()),
        "a restarted pod resumes its file"
    );
    assert!(
        words.contains(&"--no-gate".to_string()),
        "failing sites do not fail the Job"
    );
    let output = words.iter().find(|w| w.starts_with("--output=")).expect("--output");
    assert!(
        output.contains("shard-0.jsonl"),
        "each index writes its own file: {output}"
    );
    // The weekly run is the same Job, every week.
    let cron = find(&resources, "CronJob")[0];
    assert_eq!(
        cron["spec"]["jobTemplate"]["spec"], job["spec"],
        "the CronJob drifted from sweep-job.yaml"
    );
}

#[test]
fn the_statefulset_shards_match_its_replicas_and_prometheus_modulus() {
    let resources = resources();
    let set = find(&resources, "StatefulSet")[0];
    let replicas = set["spec"]["replicas"].as_u64().expect("replicas");
    let words = vnready_words(set);
    assert!(words.contains(&format!("--shards={replicas}")), "{words:?}");
    assert!(
        words.contains(&"--shard-index=2".to_string()),
        "the pod's ordinal is its index"
    );
    let config = find(&resources, "ConfigMap")
        .into_iter()
        .find(|c| c["metadata"]["name"] == "vnready-prometheus")
        .expect("the Prometheus ConfigMap");
    let text = config["data"]["prometheus.yml"].as_str().expect("prometheus.yml");
    assert!(
        text.contains(&format!("modulus: {replicas}")),
        "hashmod over every replica"
    );
    // The config Prometheus would load passes promtool.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("prometheus.yml");
    std::fs::write(&path, text).expect("write");
    let output = std::process::Command::new("promtool")
        .args(["check", "config"])
        .arg(&path)
        .output()
        .expect("promtool is installed by the test command");
    assert!(
        output.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // The targets file in the StatefulSet's ConfigMap is one this build loads.
    let targets = find(&resources, "ConfigMap")
        .into_iter()
        .find(|c| c["metadata"]["name"] == "vnready-targets")
        .expect("the targets ConfigMap");
    let yaml = dir.path().join("targets.yaml");
    std::fs::write(&yaml, targets["data"]["targets.yaml"].as_str().expect("targets.yaml")).expect("write");
    let config = vnready::config::Config::load(&yaml).unwrap_or_else(|err| panic!("{err}"));
    assert!(config.targets.iter().all(|t| t.province.is_some()));
}
