//! The commented default configuration `poppy-server --print-default-config`
//! prints. It parses back to [`Config::default`](crate::config::Config) (a
//! test keeps the two in step), so it is a starting point to edit, not a
//! second source of defaults.

/// Every key with its default value and what it does.
pub const DEFAULT_CONFIG_TOML: &str = r#"# Poppy configuration. Every key is optional: an empty file is this default.
# Environment overrides: POPPY_LISTEN, POPPY_DATA_DIR, POPPY_LOG_FORMAT.

# Directory of the embedded SQLite database.
data_dir = "./poppy-data"

[server]
# Address the REST API listens on.
listen = "127.0.0.1:8888"
# Run a job worker inside the server process (false: run poppy-worker).
worker = true
# Largest request body in bytes; larger bodies get 413.
body_limit = 1048576
# Longest time a request may take before it gets 504.
request_timeout_secs = 30
# Append /<project id> to the base URL of links.
project_id_in_url = false
# Longest time a client may take to send a request's headers, or stay idle
# between requests on a kept-alive connection, before it is disconnected.
header_read_timeout_ms = 30000
# Most header fields, and largest request line plus headers in bytes, of one
# request; beyond either the answer is 431 and the connection is closed.
max_headers = 100
max_header_bytes = 65536
# Services whose rendered JSON is kept and served again while the service is
# unchanged (0 turns it off); about 1.3 KB each.
render_cache = 16384

# Services and flavors: `driver` plus that driver's own keys.
[storage]
driver = "sqlite"

# The job board the workers claim jobs from.
[jobs]
driver = "sqlite"

# The operator's DNS (CNAMEs pointing at providers).
[dns]
driver = "default"

# CDN providers, one [[providers]] table each. `name` is what flavors use;
# `driver` defaults to the name; the driver's own keys follow.
[[providers]]
name = "mock"

[limits]
max_services_per_project = 20
max_services_per_page = 20
# TTL of the default caching rule, in seconds.
default_cache_ttl = 86400

[worker]
# Jobs run at once by one worker.
concurrency = 8
# Lease of a claimed job; renewed every third of it while the job runs.
lease_ms = 30000
# Failed runs of a job before the service is marked failed.
max_attempts = 10
# Exponential backoff with full jitter between retries.
backoff_base_ms = 1000
backoff_max_ms = 300000
# Longest idle wait between polls for jobs posted by other processes.
idle_wait_ms = 250
# On shutdown, how long running jobs may finish before their claims are released.
shutdown_grace_ms = 10000
# How often services stuck in progress without a job are re-queued (0: never).
reconcile_every_ms = 60000
reconcile_min_age_ms = 60000
# How often a provider rollout in progress is polled.
poll_interval_ms = 5000

# Flavors created at start-up when missing, so a first create deploys.
[[flavors]]
id = "standard"
providers = ["mock"]

[log]
# "text" or "json".
format = "text"
# tracing filter directives; RUST_LOG wins when set.
filter = "info"

# Who hears that a flow ended (a service or certificate deployed, failed or
# deleted): "none", "log" (a log line), or "webhook" (feature notify-webhook:
# signed, retried POSTs; keys url, secret or secret_env, timeout_ms,
# max_attempts, backoff_base_ms, backoff_max_ms).
[notifications]
driver = "log"

# Where GET /v1.0/services/{id}/analytics reads traffic metrics: "none"
# (analytics answer 503) or "prometheus" (feature metrics-prometheus; keys
# url, resolution_secs, region_label, regions, queries, bearer_token_env,
# timeout_ms).
[metrics]
driver = "none"

# Where the CDN access logs of services with log_delivery enabled go: "none"
# (the setting is stored and shown as given, no container is made) or
# "swift" (feature swift: with the X-Auth-Token of the request that turns
# log delivery on, authenticate to Keystone and PUT the container in the
# object store of the first catalog region in preferred_dcs; a service whose
# container cannot be made has log delivery turned off). Keys: identity_url,
# identity_version ("v2" or "v3"), container_name (".CDN_ACCESS_LOGS"),
# preferred_dcs (["DC1", "DC2"]), datacenter (the region Poppy runs in: the
# internal URL is used there), timeout_ms (10000).
[log_delivery]
driver = "none"

# Who may call /v1.0/admin/...: callers whose role_header lists role (what
# Keystone's auth middleware sends for a validated token), or who send in
# token_header the token held by the environment variable token_env. Others
# get 403. open = true lets every caller in (the original's behaviour; only
# behind a proxy that checks roles). With this default, an operator sends
#   curl -H 'X-Project-ID: p1' -H 'X-Roles: admin' http://127.0.0.1:8888/v1.0/admin/limits/p1
[admin]
role_header = "X-Roles"
role = "admin"
token_header = "X-Admin-Token"
# token_env = "POPPY_ADMIN_TOKEN"
open = false
"#;
