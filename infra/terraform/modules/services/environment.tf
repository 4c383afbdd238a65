# Each service's environment, matched against the apps' zod env schemas by
# infra/terraform/terraform.test.ts (required variables set, no unknown names, secrets never in
# plain environment). Names: <service>_environment (plain values) and <service>_secrets (Secrets
# Manager ARNs ECS injects at start). Task queue names are contracts' taskQueues.

locals {
  region = data.aws_region.current.name

  temporal_environment = {
    TEMPORAL_ADDRESS   = var.temporal.address
    TEMPORAL_NAMESPACE = var.temporal.namespace
  }

  # The apps don't read TEMPORAL_API_KEY yet (infra/terraform/README.md: Temporal Cloud).
  temporal_secrets = {
    for name, arn in { TEMPORAL_API_KEY = var.temporal.api_key_secret_arn } : name => arn if var.temporal.mode == "cloud"
  }

  # S3_ENDPOINT set is what makes the apps use S3 instead of a local directory; no access keys:
  # the SDK takes the task role's credentials.
  artifact_environment = {
    S3_ENDPOINT = "https://s3.${local.region}.amazonaws.com"
    S3_BUCKET   = var.artifacts.bucket_name
    S3_REGION   = local.region
  }

  # Unset means MLflow mirroring off; the apps refuse an empty URL, so the name is left out instead.
  mlflow_environment = {
    for name, value in { MLFLOW_TRACKING_URI = var.mlflow_tracking_uri } : name => value if value != ""
  }

  # Node reads these, not the apps: the RDS CA for sslmode=verify-full, and the AWS SDK's Node 20 notice.
  runtime_environment = {
    NODE_EXTRA_CA_CERTS                              = var.rds_ca_bundle_path
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true"
  }

  api_environment = merge(local.runtime_environment, local.temporal_environment, local.artifact_environment, local.mlflow_environment, {
    API_HOST              = "0.0.0.0"
    API_PORT              = "8080"
    LOG_LEVEL             = var.log_level
    DEFAULT_PROJECT       = var.default_project
    RATE_LIMIT_PER_MINUTE = tostring(var.rate_limit_per_minute)
    TRAINING_TASK_QUEUE   = "shepherd-training"
    MAIN_TASK_QUEUE       = "shepherd-main"
    KAFKA_BROKERS         = var.kafka_brokers
  })

  api_secrets = merge(local.temporal_secrets, {
    DATABASE_URL          = var.secret_arns.database_url
    SHEPHERD_PAYLOAD_KEYS = var.secret_arns.payload_keys
    SHEPHERD_ADMIN_TOKEN  = var.secret_arns.admin_token
  })

  worker_environment = merge(local.runtime_environment, local.temporal_environment, local.artifact_environment, local.mlflow_environment, {
    LOG_LEVEL       = var.log_level
    WORKFLOW_BUNDLE = "apps/worker/dist/workflow-bundle.js"
    KAFKA_BROKERS   = var.kafka_brokers
    TRAINER_PYTHON  = var.trainer_python
    TRAINERS_JSON   = var.trainers_json
    WORK_DIR        = "/tmp/shepherd-worker"
  })

  worker_secrets = merge(local.temporal_secrets, {
    DATABASE_URL          = var.secret_arns.database_url
    SHEPHERD_PAYLOAD_KEYS = var.secret_arns.payload_keys
  })

  # One worker service per task queue, so training (minutes of CPU, big memory) scales apart from
  # the short lifecycle workflows (rollouts, drift checks, rollbacks) on shepherd-main.
  worker_main_environment     = merge(local.worker_environment, { WORKER_TASK_QUEUES = "shepherd-main" })
  worker_main_secrets         = local.worker_secrets
  worker_training_environment = merge(local.worker_environment, { WORKER_TASK_QUEUES = "shepherd-training" })
  worker_training_secrets     = local.worker_secrets

  # The gateway reads endpoints and online features from PostgreSQL, loads models from S3 and logs
  # predictions to Kafka.
  gateway_environment = merge(local.runtime_environment, local.artifact_environment, {
    GATEWAY_HOST    = "0.0.0.0"
    GATEWAY_PORT    = "8081"
    LOG_LEVEL       = var.log_level
    KAFKA_BROKERS   = var.kafka_brokers
    GATEWAY_DB_POOL = tostring(var.gateway_db_pool)
  })

  gateway_secrets = {
    DATABASE_URL = var.secret_arns.database_url
  }

  ingestion_environment = merge(local.runtime_environment, {
    KAFKA_BROKERS    = var.kafka_brokers
    FEATURE_VIEWS    = var.feature_views
    SHEPHERD_PROJECT = var.default_project
    LOG_LEVEL        = var.log_level
  })

  ingestion_secrets = {
    DATABASE_URL = var.secret_arns.database_url
  }

  # The ALB sends /v1, /healthz and /readyz on the dashboard's host straight to the api, so the
  # browser's same-origin calls never pass through the dashboard server's proxy.
  dashboard_environment = merge({
    for name, url in { MLFLOW_UI_URL = var.mlflow_ui_url, TEMPORAL_UI_URL = var.temporal.ui_url } : name => url if url != ""
    }, {
    DASHBOARD_PORT            = "5173"
    SHEPHERD_API_URL          = "https://${var.hostnames.api}"
    DASHBOARD_API_BASE_URL    = ""
    TEMPORAL_NAMESPACE        = var.temporal.namespace
    DASHBOARD_DEFAULT_PROJECT = var.default_project
  })

  dashboard_secrets = {}
}
