variable "name" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "vpc_cidr_block" {
  type = string
}

variable "public_subnet_ids" {
  type = list(string)
}

variable "private_subnet_ids" {
  type = list(string)
}

variable "allowed_cidrs" {
  description = "Who may reach the ALB."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "hostnames" {
  description = "Host names the ALB routes by; the certificate must cover all three."
  type = object({
    api       = string
    gateway   = string
    dashboard = string
  })
}

variable "certificate_arn" {
  description = "ACM certificate for the ALB's HTTPS listener."
  type        = string
}

variable "image" {
  description = "The Shepherd image (repository with node_modules and the built worker bundle), by digest or immutable tag."
  type        = string
}

variable "image_workdir" {
  description = "Where the repository sits in the image; commands and WORKFLOW_BUNDLE are relative to it."
  type        = string
  default     = "/app"
}

variable "ecr_repository_arn" {
  description = "The repository the image comes from (execution roles may pull from it only)."
  type        = string
}

variable "sizes" {
  description = "Per service: task size, count range and scaling targets (requests_per_task: ALB services only, null for none)."
  type = map(object({
    cpu               = number
    memory            = number
    min               = number
    max               = number
    cpu_target        = number
    requests_per_task = optional(number)
    ephemeral_gib     = optional(number, 21)
  }))

  validation {
    condition = alltrue([
      for name in ["api", "gateway", "dashboard", "worker-main", "worker-training", "ingestion"] : contains(keys(var.sizes), name)
    ])
    error_message = "sizes needs an entry for api, gateway, dashboard, worker-main, worker-training and ingestion."
  }
}

variable "temporal" {
  description = "Where the Temporal frontend is; mode cloud (API key) or self-hosted (security group to open)."
  type = object({
    mode               = string
    address            = string
    namespace          = string
    api_key_secret_arn = optional(string)
    security_group_id  = optional(string)
    ui_url             = optional(string, "")
  })

  validation {
    condition     = contains(["cloud", "self-hosted"], var.temporal.mode)
    error_message = "temporal.mode must be cloud or self-hosted."
  }
}

variable "kafka_brokers" {
  description = "KAFKA_BROKERS: comma-separated host:port."
  type        = string
}

variable "kafka_partitions_per_topic" {
  description = "Partitions of the feature topics: the most ingestion consumers that get work."
  type        = number
}

variable "kafka_security_group_id" {
  type = string
}

variable "database_security_group_id" {
  type = string
}

variable "artifacts" {
  type = object({
    bucket_name = string
    bucket_arn  = string
    kms_key_arn = string
  })
}

variable "secret_arns" {
  type = object({
    database_url = string
    payload_keys = string
    admin_token  = string
  })
}

variable "secrets_kms_key_arn" {
  type = string
}

variable "rds_ca_bundle_path" {
  description = "The RDS CA bundle inside the image, for DATABASE_URL's sslmode=verify-full."
  type        = string
  default     = "/etc/ssl/certs/rds-global-bundle.pem"
}

variable "mlflow_tracking_uri" {
  description = "MLflow server the api and workers mirror to; empty turns mirroring off."
  type        = string
  default     = ""
}

variable "mlflow_ui_url" {
  description = "MLflow UI the dashboard links to; empty leaves the links out."
  type        = string
  default     = ""
}

variable "default_project" {
  type    = string
  default = "default"
}

variable "feature_views" {
  description = "FEATURE_VIEWS of the ingestion service: all, or name[@version],…"
  type        = string
  default     = "all"
}

variable "trainer_python" {
  description = "The Python (with the reference trainer's packages) inside the image."
  type        = string
  default     = "/opt/shepherd/venv/bin/python3"
}

variable "trainers_json" {
  type    = string
  default = "{}"
}

variable "gateway_db_pool" {
  description = "PostgreSQL connections per gateway task; times the gateway's max tasks stays under the instance's max_connections."
  type        = number
  default     = 10
}

variable "rate_limit_per_minute" {
  type    = number
  default = 1200
}

variable "log_level" {
  type    = string
  default = "info"

  validation {
    condition     = contains(["trace", "debug", "info", "warn", "error", "fatal", "silent"], var.log_level)
    error_message = "log_level must be one of pino's levels."
  }
}

variable "log_retention_days" {
  type    = number
  default = 30
}

variable "enable_execute_command" {
  description = "ECS Exec into tasks (on-call shells)."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  type    = bool
  default = true
}
