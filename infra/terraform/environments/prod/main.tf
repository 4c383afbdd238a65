# prod: three zones with a NAT gateway each, Multi-AZ database with 14 days of point-in-time
# recovery, three brokers, Temporal Cloud by default, deletion protection everywhere it exists.
# Sizes are a starting point; docs/operations.md says what to watch before changing them.

locals {
  name = "shepherd-prod"
  # Feature topics are created with this many partitions (docs/operations.md: before the first
  # ingestion start); it caps the ingestion service's useful size.
  kafka_partitions        = 12
  temporal_retention_days = 30
}

module "network" {
  source                   = "../../modules/network"
  name                     = local.name
  cidr_block               = "10.50.0.0/16"
  az_count                 = 3
  single_nat_gateway       = false
  flow_logs_retention_days = 90
}

module "database" {
  source                   = "../../modules/database"
  name                     = local.name
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  instance_class           = "db.r6g.xlarge"
  allocated_storage_gb     = 200
  max_allocated_storage_gb = 2000
  multi_az                 = true
  backup_retention_days    = 14
  deletion_protection      = true
}

module "kafka" {
  source               = "../../modules/kafka"
  name                 = local.name
  vpc_id               = module.network.vpc_id
  subnet_ids           = module.network.private_subnet_ids
  broker_count         = 3
  broker_instance_type = "kafka.m7g.large"
  broker_volume_gb     = 1000
  default_partitions   = local.kafka_partitions
  retention_hours      = 168
  log_retention_days   = 90
}

module "artifacts" {
  source                  = "../../modules/artifacts"
  name                    = local.name
  bucket_name             = "${local.name}-artifacts-${data.aws_caller_identity.current.account_id}"
  noncurrent_version_days = 90
  force_destroy           = false
}

module "temporal_cloud" {
  source              = "../../modules/temporal-cloud"
  count               = var.temporal_mode == "cloud" ? 1 : 0
  namespace_name      = local.name
  region              = var.temporal_cloud_region
  retention_days      = local.temporal_retention_days
  api_key_expiry_time = var.temporal_api_key_expiry_time
}

module "secrets" {
  source = "../../modules/secrets"
  name   = local.name
  database = {
    address  = module.database.address
    port     = module.database.port
    name     = module.database.database_name
    username = module.database.username
    password = module.database.password
  }
  store_temporal_api_key = var.temporal_mode == "cloud"
  temporal_api_key       = var.temporal_mode == "cloud" ? one(module.temporal_cloud[*].api_key) : ""
  recovery_window_days   = 30
}

module "temporal_self_hosted" {
  source     = "../../modules/temporal-self-hosted"
  count      = var.temporal_mode == "self-hosted" ? 1 : 0
  name       = local.name
  vpc_id     = module.network.vpc_id
  subnet_ids = module.network.private_subnet_ids
  database = {
    address  = module.database.address
    port     = module.database.port
    username = module.database.username
    password = module.database.password
  }
  database_security_group_id = module.database.security_group_id
  secrets_kms_key_arn        = module.secrets.kms_key_arn
  retention_days             = local.temporal_retention_days
  cpu                        = 2048
  memory                     = 4096
  desired_count              = 2
  log_retention_days         = 90
}

data "aws_caller_identity" "current" {}

locals {
  temporal = {
    mode               = var.temporal_mode
    address            = var.temporal_mode == "cloud" ? one(module.temporal_cloud[*].address) : one(module.temporal_self_hosted[*].address)
    namespace          = var.temporal_mode == "cloud" ? one(module.temporal_cloud[*].namespace) : one(module.temporal_self_hosted[*].namespace)
    api_key_secret_arn = module.secrets.temporal_api_key_arn
    security_group_id  = one(module.temporal_self_hosted[*].security_group_id)
    ui_url             = var.temporal_mode == "cloud" ? "https://cloud.temporal.io/namespaces/${one(module.temporal_cloud[*].namespace)}" : ""
  }
}

module "services" {
  source             = "../../modules/services"
  name               = local.name
  vpc_id             = module.network.vpc_id
  vpc_cidr_block     = module.network.vpc_cidr_block
  public_subnet_ids  = module.network.public_subnet_ids
  private_subnet_ids = module.network.private_subnet_ids
  allowed_cidrs      = var.allowed_cidrs
  hostnames = {
    api       = "api.${var.domain}"
    gateway   = "gateway.${var.domain}"
    dashboard = "dashboard.${var.domain}"
  }
  certificate_arn    = var.certificate_arn
  image              = var.image
  ecr_repository_arn = var.ecr_repository_arn

  temporal                   = local.temporal
  kafka_brokers              = module.kafka.bootstrap_brokers
  kafka_partitions_per_topic = local.kafka_partitions
  kafka_security_group_id    = module.kafka.security_group_id
  database_security_group_id = module.database.security_group_id
  artifacts = {
    bucket_name = module.artifacts.bucket_name
    bucket_arn  = module.artifacts.bucket_arn
    kms_key_arn = module.artifacts.kms_key_arn
  }
  secret_arns = {
    database_url = module.secrets.database_url_arn
    payload_keys = module.secrets.payload_keys_arn
    admin_token  = module.secrets.admin_token_arn
  }
  secrets_kms_key_arn = module.secrets.kms_key_arn
  mlflow_tracking_uri = var.mlflow_tracking_uri
  log_level           = "info"
  log_retention_days  = 90
  deletion_protection = true

  # api/gateway: at least two tasks in two zones; the gateway scales on requests first.
  sizes = {
    api             = { cpu = 1024, memory = 2048, min = 2, max = 8, cpu_target = 60, requests_per_task = 1000 }
    gateway         = { cpu = 2048, memory = 4096, min = 3, max = 20, cpu_target = 55, requests_per_task = 2000 }
    dashboard       = { cpu = 256, memory = 512, min = 2, max = 4, cpu_target = 70 }
    worker-main     = { cpu = 1024, memory = 2048, min = 2, max = 8, cpu_target = 60 }
    worker-training = { cpu = 4096, memory = 16384, min = 1, max = 6, cpu_target = 70, ephemeral_gib = 100 }
    ingestion       = { cpu = 1024, memory = 2048, min = 2, max = local.kafka_partitions, cpu_target = 60 }
  }
}
