# dev: everything in one NAT gateway and two zones, single-AZ database, small tasks, two brokers,
# Temporal self-hosted by default. Destroyable: no deletion protection, bucket may be emptied.

locals {
  name                    = "shepherd-dev"
  kafka_partitions        = 3
  temporal_retention_days = 3
}

module "network" {
  source                   = "../../modules/network"
  name                     = local.name
  cidr_block               = "10.40.0.0/16"
  az_count                 = 2
  single_nat_gateway       = true
  flow_logs_retention_days = 7
}

module "database" {
  source                = "../../modules/database"
  name                  = local.name
  vpc_id                = module.network.vpc_id
  subnet_ids            = module.network.private_subnet_ids
  instance_class        = "db.t4g.medium"
  allocated_storage_gb  = 20
  multi_az              = false
  backup_retention_days = 3
  deletion_protection   = false
}

module "kafka" {
  source               = "../../modules/kafka"
  name                 = local.name
  vpc_id               = module.network.vpc_id
  subnet_ids           = module.network.private_subnet_ids
  broker_count         = 2
  broker_instance_type = "kafka.t3.small"
  broker_volume_gb     = 50
  default_partitions   = local.kafka_partitions
  retention_hours      = 72
}

module "artifacts" {
  source                  = "../../modules/artifacts"
  name                    = local.name
  bucket_name             = "${local.name}-artifacts-${data.aws_caller_identity.current.account_id}"
  noncurrent_version_days = 14
  force_destroy           = true
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
  recovery_window_days   = 0
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
  cpu                        = 512
  memory                     = 1024
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
  log_level           = "debug"
  log_retention_days  = 7
  deletion_protection = false

  sizes = {
    api             = { cpu = 512, memory = 1024, min = 1, max = 2, cpu_target = 60, requests_per_task = 500 }
    gateway         = { cpu = 512, memory = 1024, min = 1, max = 2, cpu_target = 60, requests_per_task = 1000 }
    dashboard       = { cpu = 256, memory = 512, min = 1, max = 1, cpu_target = 70 }
    worker-main     = { cpu = 512, memory = 1024, min = 1, max = 2, cpu_target = 60 }
    worker-training = { cpu = 2048, memory = 8192, min = 1, max = 2, cpu_target = 70, ephemeral_gib = 50 }
    ingestion       = { cpu = 512, memory = 1024, min = 1, max = local.kafka_partitions, cpu_target = 60 }
  }
}
