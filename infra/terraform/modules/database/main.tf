# RDS PostgreSQL: the metadata store and the feature store's offline and online tables. Encrypted
# with a key of its own, backed up daily with point-in-time recovery, TLS required. Who may connect
# is decided by the services module, which adds one ingress rule per service that needs the database.

resource "aws_kms_key" "database" {
  description         = "${var.name} RDS storage, snapshots and Performance Insights"
  enable_key_rotation = true
}

resource "aws_kms_alias" "database" {
  name          = "alias/${var.name}-database"
  target_key_id = aws_kms_key.database.key_id
}

resource "aws_db_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
}

resource "aws_security_group" "database" {
  name        = "${var.name}-database"
  description = "PostgreSQL; ingress rules are added per client service"
  vpc_id      = var.vpc_id
}

resource "aws_db_parameter_group" "this" {
  name   = "${var.name}-postgres${var.engine_major_version}"
  family = "postgres${var.engine_major_version}"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  # Slow queries in the log: the offline store's point-in-time joins are the usual suspects.
  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  # The ingestion consumers hold one transaction per batch; a stuck one must not pin vacuum forever.
  parameter {
    name  = "idle_in_transaction_session_timeout"
    value = "300000"
  }
}

resource "random_password" "master" {
  length = 40
  # Goes into a URL (DATABASE_URL): letters and digits only, so nothing needs escaping.
  special = false
}

resource "aws_db_instance" "this" {
  identifier     = var.name
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class

  db_name  = var.database_name
  username = var.master_username
  password = random_password.master.result
  port     = 5432

  allocated_storage     = var.allocated_storage_gb
  max_allocated_storage = var.max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.database.arn

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.database.id]
  parameter_group_name   = aws_db_parameter_group.this.name
  publicly_accessible    = false
  multi_az               = var.multi_az

  backup_retention_period   = var.backup_retention_days
  backup_window             = "03:00-04:00"
  maintenance_window        = "sun:04:30-sun:05:30"
  copy_tags_to_snapshot     = true
  delete_automated_backups  = false
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = !var.deletion_protection
  final_snapshot_identifier = var.deletion_protection ? "${var.name}-final" : null

  auto_minor_version_upgrade  = true
  allow_major_version_upgrade = false
  apply_immediately           = false

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.database.arn
  performance_insights_retention_period = 7
  enabled_cloudwatch_logs_exports       = ["postgresql"]
}
