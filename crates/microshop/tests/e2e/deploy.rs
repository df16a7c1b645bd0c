//! The deployment files (`Dockerfile`, `deploy/`) checked against the binary they deploy.
//!
//! Nothing here builds an image or starts a cluster; what can drift silently is checked instead:
//! a service renamed in the binary but not in a manifest, a setting that does not exist (clap
//! ignores an unknown environment variable, so a typo in a manifest is a setting silently left at
//! its default), a port that moved, a probe on the wrong path, a variable compose cannot resolve,
//! an alert on a metric nobody exports. The truth comes from the binary itself (`--help`) and
//! from the code (the metric names the `metrics` macros register).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_norway::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_microshop");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn read(relative: &str) -> String {
    let path = repo().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// One YAML file, with `<<` merge keys applied (compose files share settings through anchors).
fn yaml(relative: &str) -> Value {
    let mut value: Value = serde_norway::from_str(&read(relative))
        .unwrap_or_else(|error| panic!("{relative} is not YAML: {error}"));
    value.apply_merge().unwrap();
    value
}

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value:?}"))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("not a list: {value:?}"))
        .iter()
        .map(|item| match item {
            Value::Number(number) => number.to_string(),
            other => text(other).to_owned(),
        })
        .collect()
}

/// What the binary says about itself.
struct Binary {
    /// The services `serve` accepts.
    services: Vec<String>,
    /// Each service's default port.
    ports: BTreeMap<String, u16>,
    /// Every environment variable a setting reads.
    variables: BTreeSet<String>,
}

fn help(args: &[&str]) -> String {
    let output = Command::new(BINARY).args(args).output().unwrap();
    assert!(output.status.success(), "microshop {args:?} failed");
    String::from_utf8(output.stdout).unwrap()
}

fn binary() -> &'static Binary {
    static BINARY_HELP: OnceLock<Binary> = OnceLock::new();
    BINARY_HELP.get_or_init(|| {
        let serve = help(&["serve", "--help"]);
        let services: Vec<String> = serve
            .lines()
            .find(|line| line.trim_start().starts_with("<SERVICE>"))
            .and_then(|line| line.split("[possible values: ").nth(1))
            .and_then(|rest| rest.split(']').next())
            .expect("`serve --help` lists the services")
            .split(", ")
            .map(str::to_owned)
            .collect();
        let all = help(&["--help"]);
        // `[env: NAME=]`, or `[env: NAME]` for a setting whose value is hidden (a secret).
        let variables: BTreeSet<String> = all
            .split("[env: ")
            .skip(1)
            .map(|rest| {
                rest.chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect()
            })
            .collect();
        // `--orders-port <ORDERS_PORT>  Port of … [env: MICROSHOP_ORDERS_PORT=] [default: 8003]`
        let ports = services
            .iter()
            .map(|service| {
                let variable = format!("[env: MICROSHOP_{}_PORT=]", service.to_uppercase());
                let port = all
                    .split(&variable)
                    .nth(1)
                    .and_then(|rest| rest.trim_start().strip_prefix("[default: "))
                    .and_then(|rest| rest.split(']').next())
                    .and_then(|port| port.parse().ok())
                    .unwrap_or_else(|| panic!("no default port for {service} in --help"));
                (service.clone(), port)
            })
            .collect();
        assert!(services.len() >= 10, "{services:?}");
        assert!(
            variables.contains("MICROSHOP_INTERNAL_TOKEN"),
            "{variables:?}"
        );
        Binary {
            services,
            ports,
            variables,
        }
    })
}

fn assert_known_variable(name: &str, place: &str) {
    if name.starts_with("MICROSHOP_") {
        assert!(
            binary().variables.contains(name),
            "{place} sets {name}, which no setting of `microshop --help` reads"
        );
    }
}

// ---- Kubernetes ------------------------------------------------------------------------------

/// Every manifest `kubectl kustomize deploy/k8s/overlays/local` renders, or `None` (with the
/// reason printed) when kubectl is not installed.
fn rendered_overlay() -> Option<Vec<Value>> {
    let overlay = repo().join("deploy/k8s/overlays/local");
    let output = match Command::new("kubectl")
        .arg("kustomize")
        .arg(&overlay)
        .output()
    {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("skipped: kubectl is not installed, so the kustomization cannot be rendered");
            return None;
        }
        Err(error) => panic!("kubectl: {error}"),
    };
    assert!(
        output.status.success(),
        "kubectl kustomize failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let documents: Vec<Value> = text
        .split("\n---\n")
        .map(|document| serde_norway::from_str(document).unwrap())
        .filter(|document: &Value| !document.is_null())
        .collect();
    assert!(!documents.is_empty());
    Some(documents)
}

fn of_kind<'a>(documents: &'a [Value], kind: &str) -> Vec<&'a Value> {
    documents
        .iter()
        .filter(|document| document["kind"].as_str() == Some(kind))
        .collect()
}

fn name(document: &Value) -> &str {
    text(&document["metadata"]["name"])
}

fn probe_path(container: &Value, probe: &str) -> Option<String> {
    container[probe]["httpGet"]["path"]
        .as_str()
        .map(str::to_owned)
}

#[test]
fn the_local_overlay_runs_every_service_probed_bounded_and_unprivileged() {
    let Some(documents) = rendered_overlay() else {
        return;
    };
    let deployments = of_kind(&documents, "Deployment");
    let mut served = BTreeSet::new();
    for deployment in &deployments {
        let deployment_name = name(deployment);
        let pod = &deployment["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], Value::Bool(true));
        let containers = pod["containers"].as_sequence().unwrap();
        assert_eq!(containers.len(), 1, "{deployment_name}: one container");
        let container = &containers[0];

        let args = strings(&container["args"]);
        assert_eq!(args.len(), 2, "{deployment_name}: args {args:?}");
        assert_eq!(args[0], "serve", "{deployment_name}");
        let service = &args[1];
        assert!(
            binary().services.contains(service),
            "{deployment_name} serves `{service}`, which `microshop serve --help` does not list"
        );
        assert_eq!(
            deployment_name, service,
            "a Deployment is named after its service"
        );
        assert!(served.insert(service.clone()), "{service} deployed twice");

        let port = container["ports"][0]["containerPort"].as_u64().unwrap();
        assert_eq!(port, u64::from(binary().ports[service]), "{service}'s port");
        assert_eq!(
            probe_path(container, "readinessProbe").as_deref(),
            Some("/health/ready"),
            "{service}'s readiness probe"
        );
        assert_eq!(
            probe_path(container, "livenessProbe").as_deref(),
            Some("/health/live"),
            "{service}'s liveness probe"
        );

        for bound in ["requests", "limits"] {
            for resource in ["cpu", "memory"] {
                assert!(
                    !container["resources"][bound][resource].is_null(),
                    "{service} has no {bound}.{resource}"
                );
            }
        }
        let security = &container["securityContext"];
        assert_eq!(
            security["readOnlyRootFilesystem"],
            Value::Bool(true),
            "{service}"
        );
        assert_eq!(
            security["allowPrivilegeEscalation"],
            Value::Bool(false),
            "{service}"
        );
        assert_eq!(
            strings(&security["capabilities"]["drop"]),
            ["ALL"],
            "{service}"
        );
        let user = pod["securityContext"]["runAsUser"]
            .as_u64()
            .or_else(|| security["runAsUser"].as_u64());
        assert!(
            user.is_some_and(|user| user > 0),
            "{service} runs as a numbered non-root user"
        );

        for variable in container["env"].as_sequence().into_iter().flatten() {
            assert_known_variable(text(&variable["name"]), deployment_name);
        }
    }
    let all: BTreeSet<String> = binary().services.iter().cloned().collect();
    assert_eq!(served, all, "one Deployment per service");

    // The settings every container reads, and the Services the URLs name.
    let config = of_kind(&documents, "ConfigMap")
        .into_iter()
        .find(|map| name(map) == "microshop-config")
        .expect("the microshop-config ConfigMap");
    let services: BTreeMap<&str, &Value> = of_kind(&documents, "Service")
        .into_iter()
        .map(|service| (name(service), service))
        .collect();
    for (key, value) in config["data"].as_mapping().unwrap() {
        let key = text(key);
        assert_known_variable(key, "microshop-config");
        if key.ends_with("_URL") || key == "MICROSHOP_GATEWAY_UPSTREAMS" {
            for url in text(value).split([';', ',']) {
                let url = url.rsplit('=').next().unwrap();
                let authority = url.trim_start_matches("http://");
                let (host, port) = authority.split_once(':').unwrap();
                let service = services
                    .get(host)
                    .unwrap_or_else(|| panic!("{key} names `{host}`, which is no Service"));
                assert_eq!(
                    service["spec"]["ports"][0]["port"].as_u64(),
                    port.parse().ok(),
                    "{key}: {url}"
                );
            }
        }
    }
    for workload in deployments
        .iter()
        .chain(of_kind(&documents, "StatefulSet").iter())
    {
        for container in workload["spec"]["template"]["spec"]["containers"]
            .as_sequence()
            .unwrap()
        {
            assert!(
                !container["resources"]["limits"]["memory"].is_null(),
                "{} has no memory limit",
                name(workload)
            );
            assert!(
                !container["readinessProbe"].is_null(),
                "{} has no readiness probe",
                name(workload)
            );
        }
        assert_eq!(
            workload["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"],
            Value::Bool(true),
            "{} may run as root",
            name(workload)
        );
    }
}

#[test]
fn autoscalers_and_disruption_budgets_target_existing_deployments() {
    let Some(documents) = rendered_overlay() else {
        return;
    };
    let deployments: BTreeMap<&str, &Value> = of_kind(&documents, "Deployment")
        .into_iter()
        .map(|deployment| (name(deployment), deployment))
        .collect();
    let autoscalers = of_kind(&documents, "HorizontalPodAutoscaler");
    let scaled: BTreeSet<&str> = autoscalers
        .iter()
        .map(|autoscaler| {
            let target = &autoscaler["spec"]["scaleTargetRef"];
            assert_eq!(target["kind"].as_str(), Some("Deployment"));
            let target = text(&target["name"]);
            let deployment = deployments
                .get(target)
                .unwrap_or_else(|| panic!("HPA {} targets a missing Deployment", name(autoscaler)));
            // A fixed replica count would fight the autoscaler on every apply.
            assert!(
                deployment["spec"]["replicas"].is_null(),
                "{target} sets replicas but is autoscaled"
            );
            target
        })
        .collect();
    assert_eq!(
        scaled,
        BTreeSet::from(["gateway", "notifier", "orders"]),
        "autoscaled services"
    );

    let budgets = of_kind(&documents, "PodDisruptionBudget");
    assert!(!budgets.is_empty(), "at least one PodDisruptionBudget");
    for budget in budgets {
        let selector = budget["spec"]["selector"]["matchLabels"]
            .as_mapping()
            .unwrap();
        let matching: Vec<&str> = deployments
            .iter()
            .filter(|(_, deployment)| {
                let labels = &deployment["spec"]["template"]["metadata"]["labels"];
                selector
                    .iter()
                    .all(|(key, value)| labels.get(key) == Some(value))
            })
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(
            matching.len(),
            1,
            "PDB {} selects {matching:?}",
            name(budget)
        );
    }
}

// ---- Compose ---------------------------------------------------------------------------------

const COMPOSE: &str = "deploy/compose/docker-compose.yml";
const TRAEFIK: &str = "deploy/compose/docker-compose.traefik.yml";

fn services(compose: &Value) -> BTreeMap<String, Value> {
    compose["services"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(name, service)| (text(name).to_owned(), service.clone()))
        .collect()
}

/// The variables `.env.example` lists: the required ones (`NAME=`) and the optional ones shown
/// commented out (`# NAME=…`).
fn env_example() -> (BTreeSet<String>, BTreeSet<String>) {
    let mut required = BTreeSet::new();
    let mut optional = BTreeSet::new();
    for line in read("deploy/compose/.env.example").lines() {
        let (set, line) = match line.strip_prefix('#') {
            Some(rest) => (&mut optional, rest.trim_start()),
            None => (&mut required, line),
        };
        if let Some((name, _)) = line.split_once('=')
            && !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        {
            set.insert(name.to_owned());
        }
    }
    (required, optional)
}

/// `${NAME}`, `${NAME:-default}`, `${NAME:?message}`…: the name and whether it has a default.
fn interpolations(text: &str) -> Vec<(String, bool)> {
    let text = text.replace("$$", "");
    text.split("${")
        .skip(1)
        .map(|rest| {
            let inner = rest.split('}').next().unwrap();
            let end = inner
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(inner.len());
            let modifier = &inner[end..];
            let has_default = modifier.starts_with(":-") || modifier.starts_with('-');
            (inner[..end].to_owned(), has_default)
        })
        .collect()
}

fn environment(service: &Value) -> Vec<String> {
    match &service["environment"] {
        Value::Mapping(map) => map.keys().map(|key| text(key).to_owned()).collect(),
        Value::Sequence(list) => list
            .iter()
            .map(|item| text(item).split('=').next().unwrap().to_owned())
            .collect(),
        _ => Vec::new(),
    }
}

#[test]
fn compose_services_have_health_checks_and_wait_for_healthy_dependencies() {
    let base = services(&yaml(COMPOSE));
    let traefik = services(&yaml(TRAEFIK));
    let mut all = base.clone();
    for (name, service) in &traefik {
        all.entry(name.clone()).or_insert_with(|| service.clone());
    }
    for (file, services) in [(COMPOSE, &base), (TRAEFIK, &traefik)] {
        for (name, service) in services {
            let overrides_only = file == TRAEFIK && base.contains_key(name);
            if overrides_only {
                // The variant switches the gateway off, or adds settings; it keeps the base's
                // checks.
                let keys: Vec<&str> = service.as_mapping().unwrap().keys().map(text).collect();
                assert!(
                    keys == ["profiles"] && !strings(&service["profiles"]).is_empty()
                        || keys == ["environment"],
                    "{name} in {file}: {keys:?}"
                );
                continue;
            }
            let test = strings(&service["healthcheck"]["test"]);
            assert!(
                test.len() >= 2 && test[0] != "NONE" && service["healthcheck"]["disable"].is_null(),
                "{file}: {name} has no health check"
            );
            if let Some(dependencies) = service["depends_on"].as_mapping() {
                for (dependency, condition) in dependencies {
                    let dependency = text(dependency);
                    assert!(
                        all.contains_key(dependency),
                        "{file}: {name} depends on `{dependency}`, which is no service"
                    );
                    assert_eq!(
                        condition["condition"].as_str(),
                        Some("service_healthy"),
                        "{file}: {name} → {dependency}"
                    );
                }
            } else {
                assert!(
                    service["depends_on"].is_null(),
                    "{file}: {name}: depends_on must say which condition"
                );
            }
        }
    }
    // Nothing waits for a service the Traefik variant does not start.
    for (name, service) in &all {
        if let Some(dependencies) = service["depends_on"].as_mapping() {
            assert!(
                !dependencies.contains_key("gateway"),
                "{name} depends on the gateway"
            );
        }
    }
}

#[test]
fn compose_variables_are_defined_and_name_real_settings() {
    let (required, optional) = env_example();
    let mut used = BTreeSet::new();
    for file in [COMPOSE, TRAEFIK] {
        for (variable, has_default) in interpolations(&read(file)) {
            assert!(
                has_default || required.contains(&variable),
                "{file} uses ${{{variable}}} with no default, and .env.example does not define it"
            );
            used.insert(variable);
        }
        for (name, service) in services(&yaml(file)) {
            for variable in environment(&service) {
                assert_known_variable(&variable, &format!("{file}: {name}"));
            }
        }
    }
    for variable in required.iter().chain(&optional) {
        assert!(
            used.contains(variable),
            ".env.example lists {variable}, which no compose file uses"
        );
    }
    let ignored = read("deploy/compose/.gitignore");
    assert!(
        ignored.lines().any(|line| line.trim() == ".env"),
        "deploy/compose/.env (the secrets) must be ignored by git"
    );
}

#[test]
fn every_database_url_names_a_database_the_init_script_creates() {
    let script = read("deploy/compose/postgres/init-databases.sql");
    let created: BTreeSet<&str> = script
        .lines()
        .filter_map(|line| line.strip_prefix("CREATE DATABASE "))
        .map(|rest| rest.trim_end_matches(';').trim())
        .collect();
    let mut wanted = BTreeSet::new();
    for (name, service) in services(&yaml(COMPOSE)) {
        for (key, value) in service["environment"].as_mapping().into_iter().flatten() {
            let key = text(key);
            if key.ends_with("_DATABASE_URL") {
                let database = text(value).rsplit('/').next().unwrap();
                assert_eq!(
                    key,
                    format!("MICROSHOP_{}_DATABASE_URL", name.to_uppercase()),
                    "{name} sets another service's database"
                );
                assert_eq!(database, name, "one database per service, named after it");
                wanted.insert(database.to_owned());
            }
        }
    }
    let created: BTreeSet<String> = created.into_iter().map(str::to_owned).collect();
    assert_eq!(created, wanted, "databases created vs used");
    assert_eq!(
        read("deploy/k8s/overlays/local/init-databases.sql"),
        script,
        "the local cluster's PostgreSQL creates the same databases as compose's"
    );
}

#[test]
fn traefik_routes_to_real_services_and_checks_tokens_with_auth() {
    let dynamic = yaml("deploy/compose/traefik/dynamic.yml");
    let http = &dynamic["http"];
    let auth_port = binary().ports["auth"];
    assert_eq!(
        http["middlewares"]["require-token"]["forwardAuth"]["address"].as_str(),
        Some(format!("http://auth:{auth_port}/auth/verify").as_str())
    );
    let backends = http["services"].as_mapping().unwrap();
    for (name, backend) in backends {
        let url = text(&backend["loadBalancer"]["servers"][0]["url"]);
        let (host, port) = url.trim_start_matches("http://").split_once(':').unwrap();
        assert!(
            binary().services.iter().any(|service| service == host),
            "{url}"
        );
        assert_eq!(port.parse::<u16>().unwrap(), binary().ports[host], "{url}");
        assert_eq!(text(name), host, "a Traefik service is named after ours");
    }
    let middlewares = http["middlewares"].as_mapping().unwrap();
    let mut private = 0;
    for (name, router) in http["routers"].as_mapping().unwrap() {
        let name = text(name);
        assert!(backends.contains_key(&router["service"]), "router {name}");
        let chain = strings(&router["middlewares"]);
        assert_eq!(
            chain.first().map(String::as_str),
            Some("strip-identity"),
            "router {name} must drop client identity headers first"
        );
        for middleware in &chain {
            assert!(
                middlewares.contains_key(middleware.as_str()),
                "router {name}: {middleware}"
            );
        }
        if chain.iter().any(|middleware| middleware == "require-token") {
            private += 1;
        }
    }
    assert!(private >= 6, "private routes go through ForwardAuth");
}

// ---- The image -------------------------------------------------------------------------------

/// The JSON array of a Dockerfile instruction (`CMD ["serve", "gateway"]`).
fn instruction(dockerfile: &str, keyword: &str) -> Vec<String> {
    let line = dockerfile
        .lines()
        .find(|line| line.starts_with(&format!("{keyword} ")))
        .unwrap_or_else(|| panic!("the Dockerfile has no {keyword}"));
    serde_json::from_str(&line[keyword.len()..])
        .unwrap_or_else(|error| panic!("{keyword} is not an exec-form array: {error}"))
}

/// The exec-form command of the Dockerfile's `HEALTHCHECK` (options and `CMD` may span lines).
fn healthcheck_command(dockerfile: &str) -> Vec<String> {
    let start = dockerfile
        .find("\nHEALTHCHECK ")
        .expect("the image has a health check");
    let mut instruction = String::new();
    for line in dockerfile[start + 1..].lines() {
        match line.trim_end().strip_suffix('\\') {
            Some(continued) => instruction.push_str(continued),
            None => {
                instruction.push_str(line);
                break;
            }
        }
    }
    let (_, command) = instruction
        .split_once(" CMD ")
        .unwrap_or_else(|| panic!("HEALTHCHECK without CMD: {instruction}"));
    serde_json::from_str(command.trim())
        .unwrap_or_else(|error| panic!("HEALTHCHECK CMD is not an exec-form array: {error}"))
}

#[test]
fn the_image_and_compose_serve_exactly_the_services_the_binary_knows() {
    let dockerfile = read("Dockerfile");
    assert_eq!(instruction(&dockerfile, "ENTRYPOINT"), ["microshop"]);
    let command = instruction(&dockerfile, "CMD");
    assert_eq!(command[0], "serve");
    assert!(binary().services.contains(&command[1]), "CMD {command:?}");
    assert!(
        dockerfile.lines().any(|line| line.starts_with("USER ")
            && !line.contains("root")
            && !line.contains(" 0")),
        "the image runs as a non-root user"
    );
    assert!(
        dockerfile.contains("\nHEALTHCHECK "),
        "the image has a health check"
    );
    let (low, high) = dockerfile
        .lines()
        .find_map(|line| line.strip_prefix("EXPOSE "))
        .and_then(|range| range.trim().split_once('-'))
        .map(|(low, high)| (low.parse::<u16>().unwrap(), high.parse::<u16>().unwrap()))
        .expect("EXPOSE <first>-<last>");
    for (service, port) in &binary().ports {
        assert!(
            (low..=high).contains(port),
            "{service}'s port {port} is not exposed"
        );
    }
    // Files the runtime stage copies from the build context exist (and are not ignored).
    let ignore = read(".dockerignore");
    for line in dockerfile.lines().filter(|line| line.starts_with("COPY ")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.iter().any(|word| word.starts_with("--from")) || words.contains(&".") {
            continue;
        }
        let source = words[words.len() - 2];
        assert!(repo().join(source).is_file(), "COPY {source}: no such file");
        assert!(
            ignore.lines().any(|rule| rule == format!("!/{source}")),
            ".dockerignore leaves {source} out of the context"
        );
    }

    // The image checks itself with the binary's own subcommand: no script, no wget.
    assert_eq!(
        healthcheck_command(&dockerfile),
        ["microshop", "health-check"]
    );
    assert!(
        help(&["health-check", "--help"]).contains("MICROSHOP_HEALTHCHECK_URL"),
        "`microshop health-check` exists"
    );
    let instructions: String = dockerfile
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .collect();
    assert!(
        !instructions.contains("wget") && !instructions.contains("busybox"),
        "the image needs nothing but microshop for its health check"
    );

    let mut served = BTreeSet::new();
    for (name, service) in services(&yaml(COMPOSE)) {
        if service["command"].is_null() {
            continue;
        }
        let command = strings(&service["command"]);
        if command.first().map(String::as_str) != Some("serve") {
            continue;
        }
        let served_service = &command[1];
        assert!(
            binary().services.contains(served_service),
            "compose's {name} serves `{served_service}`, unknown to `microshop serve --help`"
        );
        assert_eq!(
            &name, served_service,
            "a compose service is named after its service"
        );
        // The check names the service the container serves, so it asks the port that
        // service's settings give it.
        let check = strings(&service["healthcheck"]["test"]);
        assert_eq!(
            check,
            ["CMD", "microshop", "health-check", served_service.as_str()],
            "{name}'s health check asks another service"
        );
        served.insert(name);
    }
    let all: BTreeSet<String> = binary().services.iter().cloned().collect();
    assert_eq!(served, all, "compose runs every service");
}

// ---- Prometheus and Grafana ------------------------------------------------------------------

/// Metric names the code registers: the first argument of every `counter!`, `gauge!` and
/// `histogram!` in the crates' sources, with whether it is a histogram.
fn exported_metrics() -> BTreeMap<String, bool> {
    fn visit(dir: &Path, found: &mut BTreeMap<String, bool>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                visit(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let source = std::fs::read_to_string(&path).unwrap();
                for macro_name in ["counter!(", "gauge!(", "histogram!("] {
                    for rest in source.split(macro_name).skip(1) {
                        let Some(literal) = rest.trim_start().strip_prefix('"') else {
                            continue;
                        };
                        let metric = literal.split('"').next().unwrap();
                        let histogram = macro_name == "histogram!(";
                        *found.entry(metric.to_owned()).or_default() |= histogram;
                    }
                }
            }
        }
    }
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(repo().join("crates")).unwrap() {
        let src = entry.unwrap().path().join("src");
        if src.is_dir() {
            visit(&src, &mut found);
        }
    }
    found
}

/// The metric names a PromQL expression selects: identifiers that are not functions,
/// keywords, label names (in `{…}` or `by (…)`) or Grafana variables.
fn selected_metrics(expr: &str) -> BTreeSet<String> {
    const KEYWORDS: &[&str] = &[
        "and",
        "or",
        "unless",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "offset",
    ];
    const LABEL_LISTS: &[&str] = &[
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    // Aggregations may put their `by (…)` before the parenthesis: `sum by (x) (…)`.
    const AGGREGATIONS: &[&str] = &[
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
        "limitk",
        "limit_ratio",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut depth_braces = 0;
    let mut depth_brackets = 0;
    let mut skip_next_list = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => {
                i += 1;
                while i < chars.len() && chars[i] != c {
                    i += usize::from(chars[i] == '\\') + 1;
                }
                i += 1;
                continue;
            }
            '{' => depth_braces += 1,
            '}' => depth_braces -= 1,
            '[' => depth_brackets += 1,
            ']' => depth_brackets -= 1,
            '(' if skip_next_list => {
                while i < chars.len() && chars[i] != ')' {
                    i += 1;
                }
                skip_next_list = false;
            }
            _ => {}
        }
        let starts_word = c.is_ascii_alphabetic() || c == '_' || c == ':';
        if !starts_word && c != '$' && !c.is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_:$.".contains(chars[i])) {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        if !starts_word || depth_braces > 0 || depth_brackets > 0 {
            continue;
        }
        let next = chars[i..].iter().find(|c| !c.is_whitespace());
        let word = word.as_str();
        if LABEL_LISTS.contains(&word) {
            skip_next_list = next == Some(&'(');
        } else if next != Some(&'(') && !KEYWORDS.contains(&word) && !AGGREGATIONS.contains(&word) {
            names.insert(word.to_owned());
        }
    }
    names
}

/// Each metric a query uses must be exported by the code (a histogram's `_bucket`, `_sum` and
/// `_count` series included); `up` is the one Prometheus makes itself.
fn assert_exported(expr: &str, place: &str, exported: &BTreeMap<String, bool>) {
    let used = selected_metrics(expr);
    assert!(!used.is_empty(), "{place}: no metric found in {expr}");
    for metric in used {
        let known = metric == "up"
            || exported.contains_key(&metric)
            || ["_bucket", "_sum", "_count"].iter().any(|suffix| {
                metric
                    .strip_suffix(suffix)
                    .is_some_and(|base| exported.get(base) == Some(&true))
            });
        assert!(
            known,
            "{place} uses `{metric}`, which the code does not export"
        );
    }
}

/// GitHub's anchor of a Markdown heading.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn alert_rules_and_the_dashboard_query_metrics_the_code_exports() {
    let exported = exported_metrics();
    // The scan itself works: a few names every deployment has.
    for name in [
        "http_requests_total",
        "circuit_breaker_state",
        "outbox_pending",
    ] {
        assert!(exported.contains_key(name), "{name} not found in the code");
    }
    assert_eq!(exported.get("http_request_duration_seconds"), Some(&true));

    let runbook = read("docs/runbook.md");
    let anchors: BTreeSet<String> = runbook
        .lines()
        .filter_map(|line| {
            line.strip_prefix("## ")
                .or_else(|| line.strip_prefix("### "))
        })
        .map(anchor)
        .collect();
    let rules = yaml("deploy/observability/prometheus/alerts.yml");
    let mut alerts = BTreeSet::new();
    for group in rules["groups"].as_sequence().unwrap() {
        for rule in group["rules"].as_sequence().unwrap() {
            let alert = text(&rule["alert"]);
            assert!(alerts.insert(alert.to_owned()), "{alert} twice");
            assert_exported(text(&rule["expr"]), alert, &exported);
            let severity = text(&rule["labels"]["severity"]);
            assert!(["critical", "warning"].contains(&severity), "{alert}");
            assert!(rule["annotations"]["summary"].is_string(), "{alert}");
            let link = text(&rule["annotations"]["runbook"]);
            let target = link
                .strip_prefix("docs/runbook.md#")
                .unwrap_or_else(|| panic!("{alert}: runbook link {link}"));
            assert!(
                anchors.contains(target),
                "{alert} links to #{target}, which docs/runbook.md has no heading for"
            );
        }
    }
    // What the issue asks the rules to cover.
    for wanted in [
        "MicroshopCircuitBreakerOpen",
        "MicroshopOutboxBacklogGrowing",
        "MicroshopHighErrorRate",
        "MicroshopHighLatencyP99",
        "MicroshopConsumerLagHigh",
    ] {
        assert!(alerts.contains(wanted), "no {wanted} alert");
    }

    let dashboard: serde_json::Value = serde_json::from_str(&read(
        "deploy/observability/grafana/dashboards/microshop.json",
    ))
    .unwrap();
    let mut queries = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap();
            assert_exported(expr, panel["title"].as_str().unwrap(), &exported);
            queries += 1;
        }
    }
    assert!(queries >= 15, "{queries} dashboard queries");
}

#[test]
fn the_metric_name_scanner_ignores_functions_labels_and_variables() {
    let expr = r#"sum by (service, le) (rate(http_request_duration_seconds_bucket{service=~"$service", route!="x"}[$__rate_interval])) / on (service) group_left max without (pod) (up) > 0.5 and bool 1e3"#;
    assert_eq!(
        selected_metrics(expr),
        BTreeSet::from([
            "http_request_duration_seconds_bucket".to_owned(),
            "up".to_owned()
        ])
    );
    assert_eq!(anchor("Circuit breaker open"), "circuit-breaker-open");
    assert_eq!(
        anchor("Rotating the signing key (auth)"),
        "rotating-the-signing-key-auth"
    );
}
